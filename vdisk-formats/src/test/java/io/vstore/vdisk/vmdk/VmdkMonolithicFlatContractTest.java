package io.vstore.vdisk.vmdk;

import java.util.Map;

/** BlockDevice contract for monolithicFlat: holes of the flat file report as ZERO, zeroing punches holes. */
class VmdkMonolithicFlatContractTest extends VmdkContractBase {
  @Override
  Map<String, String> options() {
    return Map.of("subformat", "monolithicFlat");
  }
}
