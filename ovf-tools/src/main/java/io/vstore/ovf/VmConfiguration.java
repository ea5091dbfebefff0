package io.vstore.ovf;

import java.util.List;
import java.util.Map;

/**
 * The configuration of one VM as vstore's inventory keeps it (the VM's {@code config} JSON): what
 * the virtual hardware of a descriptor maps to under one deployment option. Controllers carry the
 * descriptor's item id so that disks, CD/DVD drives and floppies can name theirs; disks name the
 * descriptor disk they were created from. Once imported, CD/DVD drives, floppies and the firmware's
 * NVRAM name the VM's media files ({@code io.vstore.engine.MediaFile}) that hold their images.
 *
 * @param nvram the VM's media file holding the firmware's NVRAM, or {@code null}
 */
public record VmConfiguration(String name, String ovfId, int cpus, int coresPerSocket, long memoryBytes,
    String firmware, String guestOs, List<String> systemTypes, List<Controller> controllers, List<DiskDrive> disks,
    List<CdDrive> cdDrives, List<FloppyDrive> floppies, List<Nic> nics, List<SerialPort> serialPorts,
    List<String> usbControllers, Video video, List<String> otherDevices, Map<String, String> vendorConfig,
    Map<String, String> extraConfig, String deploymentOption, Map<String, String> properties, String nvram) {

  /** A storage controller: bus type ({@code ide}, {@code scsi}, {@code sata}, {@code nvme} or {@code other}), model, bus number. */
  public record Controller(String id, String type, String model, int busNumber) {}

  /** A hard disk: the descriptor disk ({@code null} when the item names none), controller id, unit, capacity. */
  public record DiskDrive(String diskId, String controller, int unit, long capacityBytes) {}

  /**
   * A CD/DVD drive on a controller; {@code imageDisk} or {@code imageFile} name the ISO it holds
   * (a {@code Disk} of the package, or a {@code File} reference), both {@code null} for an empty drive;
   * {@code media} names the VM's media file that holds it once imported.
   */
  public record CdDrive(String controller, int unit, String imageDisk, String imageFile, boolean dvd, String media) {
    /** Returns this drive holding media file {@code name} ({@code null}: empty). */
    public CdDrive withMedia(String name) {
      return new CdDrive(controller, unit, imageDisk, imageFile, dvd, name);
    }
  }

  /** A floppy drive, with the package's image file it holds or {@code null}, and the VM's media file holding it. */
  public record FloppyDrive(int unit, String imageFile, String media) {
    /** Returns this drive holding media file {@code name} ({@code null}: empty). */
    public FloppyDrive withMedia(String name) {
      return new FloppyDrive(unit, imageFile, name);
    }
  }

  /** Returns this configuration with other drives, floppies and NVRAM media file. */
  public VmConfiguration withMedia(List<CdDrive> cds, List<FloppyDrive> floppyDrives, String nvramMedia) {
    return new VmConfiguration(name, ovfId, cpus, coresPerSocket, memoryBytes, firmware, guestOs, systemTypes, controllers,
        disks, List.copyOf(cds), List.copyOf(floppyDrives), nics, serialPorts, usbControllers, video, otherDevices,
        vendorConfig, extraConfig, deploymentOption, properties, nvramMedia);
  }

  /** Returns this configuration with other controllers and disks. */
  public VmConfiguration withDisks(List<Controller> storageControllers, List<DiskDrive> diskDrives) {
    return new VmConfiguration(name, ovfId, cpus, coresPerSocket, memoryBytes, firmware, guestOs, systemTypes,
        List.copyOf(storageControllers), List.copyOf(diskDrives), cdDrives, floppies, nics, serialPorts, usbControllers,
        video, otherDevices, vendorConfig, extraConfig, deploymentOption, properties, nvram);
  }

  /** A network adapter: model ({@code E1000}, {@code VmxNet3}, ...), the network it connects to, MAC or {@code null}. */
  public record Nic(String model, String network, String mac, boolean connected) {}

  /** A serial port and what it is connected to ({@code null}: nothing). */
  public record SerialPort(int index, String connection) {}

  /** The graphics adapter: model ({@code null} when the descriptor names none) and video memory in bytes (0: unknown). */
  public record Video(String model, long videoMemoryBytes, int displays) {}
}
