package io.vstore.vdisk.vmdk;

import java.util.Map;

/** BlockDevice contract for monolithicSparse with zeroed grains. */
class VmdkZeroedGrainContractTest extends VmdkContractBase {
  @Override
  Map<String, String> options() {
    return Map.of("subformat", "monolithicSparse", "zeroed_grain", "on");
  }
}
