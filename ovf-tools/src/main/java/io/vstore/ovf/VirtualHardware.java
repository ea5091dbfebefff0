package io.vstore.ovf;

import java.util.List;
import java.util.Map;

/**
 * One {@code VirtualHardwareSection}: the virtual system types it targets ({@code vmx-13},
 * {@code virtualbox-2.2}; several when the {@code VirtualSystemType} is multi-valued), its items in
 * document order, VMware's section-level {@code vmw:Config} (firmware, CPU hot-add...) and
 * {@code vmw:ExtraConfig} key/values, and the environment transport ({@code iso}, {@code com.vmware.guestInfo}).
 */
public record VirtualHardware(String id, List<String> systemTypes, List<HardwareItem> items,
    Map<String, String> vendorConfig, Map<String, String> extraConfig, String transport) {}
