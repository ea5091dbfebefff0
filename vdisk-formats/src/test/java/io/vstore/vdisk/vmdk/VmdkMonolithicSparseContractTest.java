package io.vstore.vdisk.vmdk;

import java.util.Map;

/** BlockDevice contract for monolithicSparse. */
class VmdkMonolithicSparseContractTest extends VmdkContractBase {
  @Override
  Map<String, String> options() {
    return Map.of("subformat", "monolithicSparse");
  }
}
