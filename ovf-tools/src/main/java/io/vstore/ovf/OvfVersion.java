package io.vstore.ovf;

/** The OVF specification generation a descriptor follows. */
public enum OvfVersion {
  /** VMware's pre-DMTF OVF 0.9: {@code Section}/{@code Content} elements typed by {@code xsi:type}. */
  V0_9("0.9"),
  /** DMTF DSP0243 1.x, namespace {@code envelope/1}. */
  V1("1.x"),
  /** DMTF DSP0243 2.x, namespace {@code envelope/2}, with SASD and EPASD items. */
  V2("2.x");

  private final String label;

  OvfVersion(String label) {
    this.label = label;
  }

  /** Returns the version as people write it ({@code 0.9}, {@code 1.x}, {@code 2.x}). */
  public String label() {
    return label;
  }
}
