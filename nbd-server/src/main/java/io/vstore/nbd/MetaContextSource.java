package io.vstore.nbd;

import java.io.IOException;
import java.util.List;

/**
 * A metadata context an export offers to {@code NBD_CMD_BLOCK_STATUS}: a name such as
 * {@code qemu:dirty-bitmap:<change id>} and the flags of each byte range.
 */
public interface MetaContextSource {

  /** Returns the context's full name, namespace included ({@code base:allocation}). */
  String name();

  /**
   * Describes the range starting at {@code offset} as consecutive runs, the first starting at
   * {@code offset}; the runs cover at least one byte and need not cover all of {@code length}
   * (clients ask again for the rest), but must not reach past the export.
   */
  List<StatusExtent> status(long offset, long length) throws IOException;
}
