package io.vstore.nbd;

import io.vstore.blockstore.BlockDevice;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A device offered to NBD clients under a name.
 *
 * @param name the export name clients ask for (UTF-8, at most 4096 bytes; may be empty)
 * @param description a line for humans, sent with {@code NBD_OPT_LIST} and {@code NBD_OPT_INFO}
 * @param device the device; the export does not own it (whoever added the export closes it)
 * @param readOnly whether writes are refused even if the device accepts them
 * @param contexts extra metadata contexts (dirty bitmaps, a history-aware allocation depth);
 *     {@code base:allocation} and {@code qemu:allocation-depth} are provided from the device
 *     (for a vstore volume, the depth in its clone chain) unless a context of the same name is
 *     given here
 */
public record Export(String name, String description, BlockDevice device, boolean readOnly, List<MetaContextSource> contexts) {

  public Export {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(device, "device");
    description = description == null ? "" : description;
    contexts = List.copyOf(contexts);
    if (name.getBytes(StandardCharsets.UTF_8).length > Nbd.MAX_STRING) {
      throw new IllegalArgumentException("bad export name: longer than " + Nbd.MAX_STRING + " bytes");
    }
    if (description.getBytes(StandardCharsets.UTF_8).length > Nbd.MAX_STRING) {
      throw new IllegalArgumentException("bad export description: longer than " + Nbd.MAX_STRING + " bytes");
    }
    for (MetaContextSource c : contexts) {
      int colon = c.name().indexOf(':');
      if (colon <= 0 || c.name().getBytes(StandardCharsets.UTF_8).length > Nbd.MAX_STRING) {
        throw new IllegalArgumentException("bad metadata context name: '" + c.name() + "' (want namespace:leaf)");
      }
    }
  }

  /** Returns an export of {@code device} with the default contexts, read-only if the device is. */
  public static Export of(String name, BlockDevice device) {
    return new Export(name, device.toString(), device, device.isReadOnly(), List.of());
  }

  /** Returns whether clients may change the device through this export. */
  public boolean writable() {
    return !readOnly && !device.isReadOnly();
  }

  /** Returns every metadata context of this export by name, the defaults first. */
  Map<String, MetaContextSource> allContexts() {
    Map<String, MetaContextSource> all = new LinkedHashMap<>();
    all.put(MetaContexts.BASE_ALLOCATION, MetaContexts.baseAllocation(device));
    all.put(MetaContexts.ALLOCATION_DEPTH, MetaContexts.allocationDepth(device));
    for (MetaContextSource c : contexts) {
      all.put(c.name(), c);
    }
    return all;
  }
}
