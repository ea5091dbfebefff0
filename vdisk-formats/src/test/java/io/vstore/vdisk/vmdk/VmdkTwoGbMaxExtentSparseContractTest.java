package io.vstore.vdisk.vmdk;

import java.util.Map;

/** BlockDevice contract for twoGbMaxExtentSparse. */
class VmdkTwoGbMaxExtentSparseContractTest extends VmdkContractBase {
  @Override
  Map<String, String> options() {
    return Map.of("subformat", "twoGbMaxExtentSparse");
  }
}
