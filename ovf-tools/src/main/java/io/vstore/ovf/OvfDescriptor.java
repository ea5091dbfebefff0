package io.vstore.ovf;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A parsed OVF envelope: its version, the package's files, disks and networks, the deployment
 * options, the content (one VM or a collection), and the warnings reading it produced (skipped
 * optional sections, assumed units).
 */
public record OvfDescriptor(OvfVersion version, List<FileReference> files, List<VirtualDisk> disks,
    List<OvfNetwork> networks, List<DeploymentOption> deploymentOptions, Content content, List<String> warnings) {

  /** Returns the file with this id. */
  public Optional<FileReference> file(String id) {
    return files.stream().filter(f -> f.id().equals(id)).findFirst();
  }

  /** Returns the disk with this id. */
  public Optional<VirtualDisk> disk(String id) {
    return disks.stream().filter(d -> d.id().equals(id)).findFirst();
  }

  /** Returns every virtual system, depth first through collections. */
  public List<VirtualSystem> systems() {
    return content.systems();
  }

  /** Returns every product section of the content and its members, collection first. */
  public List<ProductInfo> allProducts() {
    List<ProductInfo> out = new ArrayList<>();
    collectProducts(content, out);
    return out;
  }

  private static void collectProducts(Content c, List<ProductInfo> out) {
    out.addAll(c.products());
    if (c instanceof VirtualSystemCollection vsc) {
      for (Content m : vsc.members()) {
        collectProducts(m, out);
      }
    }
  }

  /** Returns the id of the default deployment option, or {@code null} when there are none. */
  public String defaultDeploymentOption() {
    for (DeploymentOption o : deploymentOptions) {
      if (o.isDefault()) {
        return o.id();
      }
    }
    // DSP0243: without an explicit default, the first configuration is the default.
    return deploymentOptions.isEmpty() ? null : deploymentOptions.getFirst().id();
  }
}
