package io.vstore.ovf;

/** The {@code OperatingSystemSection}: CIM OS id, version, description and VMware's {@code osType}. */
public record OperatingSystem(int id, String version, String description, String vmwareOsType) {}
