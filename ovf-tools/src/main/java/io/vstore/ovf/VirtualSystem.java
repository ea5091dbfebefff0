package io.vstore.ovf;

import java.util.List;

/**
 * One {@code VirtualSystem}: a VM. {@code hardware} lists its hardware sections (a descriptor may
 * offer one per hypervisor); {@code vboxFirmware} is the firmware type VirtualBox's
 * {@code vbox:Machine} names ({@code null} when absent).
 */
public record VirtualSystem(String id, String name, String info, OperatingSystem operatingSystem,
    List<ProductInfo> products, List<String> eulas, String annotation, List<VirtualHardware> hardware,
    String vboxFirmware) implements Content {
  @Override
  public List<VirtualSystem> systems() {
    return List.of(this);
  }
}
