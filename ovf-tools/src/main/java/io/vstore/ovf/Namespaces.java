package io.vstore.ovf;

/**
 * The namespace URIs descriptors use, and the tests that recognise them leniently: producers add
 * {@code .xsd} suffixes to CIM namespaces (VirtualBox), and OVF 0.9 used VMware's pre-DMTF envelope
 * namespace.
 */
final class Namespaces {
  static final String OVF1 = "http://schemas.dmtf.org/ovf/envelope/1";
  static final String OVF2 = "http://schemas.dmtf.org/ovf/envelope/2";
  /** The envelope namespace of OVF 0.9 as VMware's tools wrote it. */
  static final String OVF09_VMWARE = "http://www.vmware.com/schema/ovf/1/envelope";
  /** The envelope namespace of the DMTF 0.9 draft. */
  static final String OVF09_DMTF = "http://schemas.dmtf.org/ovf/1/envelope";
  static final String CIM_BASE = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
  static final String RASD = CIM_BASE + "CIM_ResourceAllocationSettingData";
  static final String VSSD = CIM_BASE + "CIM_VirtualSystemSettingData";
  static final String SASD = CIM_BASE + "CIM_StorageAllocationSettingData";
  static final String EPASD = CIM_BASE + "CIM_EthernetPortAllocationSettingData";
  static final String CIM_COMMON = "http://schemas.dmtf.org/wbem/wscim/1/common";
  static final String XSI = "http://www.w3.org/2001/XMLSchema-instance";
  static final String VMW = "http://www.vmware.com/schema/ovf";
  static final String VBOX = "http://www.virtualbox.org/ovf/machine";

  private Namespaces() {}

  /** Tells whether {@code ns} is an OVF envelope namespace of any version. */
  static boolean isOvf(String ns) {
    return ns.equals(OVF1) || ns.equals(OVF2) || ns.equals(OVF09_VMWARE) || ns.equals(OVF09_DMTF)
        || ns.equals("http://schemas.dmtf.org/ovf/envelope") || ns.equals("http://schemas.dmtf.org/ovf/envelope/1/")
        || ns.equals("http://schemas.dmtf.org/ovf/envelope/2/");
  }

  /** Tells whether {@code ns} is a DMTF CIM schema namespace (RASD, VSSD, SASD, EPASD or other). */
  static boolean isCim(String ns) {
    return ns.startsWith("http://schemas.dmtf.org/wbem/wscim/");
  }

  /** Tells whether {@code ns} is VMware's OVF extension namespace. */
  static boolean isVmware(String ns) {
    return ns.equals(VMW) || ns.equals(VMW + "/");
  }

  /** Tells whether {@code ns} is VirtualBox's machine namespace. */
  static boolean isVbox(String ns) {
    return ns.equals(VBOX);
  }
}
