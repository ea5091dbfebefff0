package io.vstore.vdisk.vmdk;

import java.util.Map;

/** BlockDevice contract for twoGbMaxExtentFlat: holes of the flat file report as ZERO, zeroing punches holes. */
class VmdkTwoGbMaxExtentFlatContractTest extends VmdkContractBase {
  @Override
  Map<String, String> options() {
    return Map.of("subformat", "twoGbMaxExtentFlat");
  }
}
