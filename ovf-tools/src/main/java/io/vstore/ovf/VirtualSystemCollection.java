package io.vstore.ovf;

import java.util.ArrayList;
import java.util.List;

/** A {@code VirtualSystemCollection}: a vApp of virtual systems and nested collections. */
public record VirtualSystemCollection(String id, String name, String info, List<ProductInfo> products,
    List<String> eulas, String annotation, List<StartupEntry> startup, List<HardwareItem> resourceAllocation,
    List<Content> members) implements Content {
  @Override
  public List<VirtualSystem> systems() {
    List<VirtualSystem> all = new ArrayList<>();
    for (Content c : members) {
      all.addAll(c.systems());
    }
    return all;
  }
}
