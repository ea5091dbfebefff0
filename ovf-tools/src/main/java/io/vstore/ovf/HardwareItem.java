package io.vstore.ovf;

import java.util.List;
import java.util.Map;

/**
 * One item of a {@code VirtualHardwareSection} ({@code Item}, or in OVF 2.x {@code StorageItem} and
 * {@code EthernetPortItem}), with the CIM properties the mapping uses. Multi-valued properties
 * ({@code ResourceSubType}, {@code HostResource}, {@code Connection}) keep every value; a subtype
 * written as {@code "virtio lsilogic"} is split on spaces. {@code configurations} lists the
 * deployment options the item belongs to (empty: all). {@code bound} is {@code min}, {@code max},
 * {@code normal} or {@code null}. {@code vendorConfig} holds VMware's per-item {@code vmw:Config}.
 */
public record HardwareItem(String instanceId, int resourceType, String otherResourceType, List<String> subTypes,
    String elementName, String description, String parent, String address, String addressOnParent,
    List<String> hostResources, List<String> connections, Long virtualQuantity, String allocationUnits,
    String virtualQuantityUnits, Boolean automaticAllocation, List<String> configurations, String bound,
    Map<String, String> vendorConfig) {

  /** CIM ResourceType values the mapping knows (DSP1041 / CIM_ResourceAllocationSettingData). */
  public static final int OTHER = 1;
  public static final int PROCESSOR = 3;
  public static final int MEMORY = 4;
  public static final int IDE_CONTROLLER = 5;
  public static final int SCSI_CONTROLLER = 6;
  public static final int FC_HBA = 7;
  public static final int ETHERNET = 10;
  public static final int OTHER_NETWORK = 11;
  public static final int FLOPPY = 14;
  public static final int CD_DRIVE = 15;
  public static final int DVD_DRIVE = 16;
  public static final int DISK_DRIVE = 17;
  public static final int OTHER_STORAGE = 20;
  public static final int SERIAL_PORT = 21;
  public static final int PARALLEL_PORT = 22;
  public static final int USB_CONTROLLER = 23;
  public static final int GRAPHICS = 24;
  public static final int LOGICAL_DISK = 31;
  public static final int SOUND = 35;

  /** Tells whether this item applies under deployment option {@code option} ({@code null}: the default). */
  public boolean appliesTo(String option) {
    return configurations.isEmpty() || (option != null && configurations.contains(option));
  }
}
