package io.vstore.ovf;

/** One {@code NetworkSection/Network}: the logical network's name and description. */
public record OvfNetwork(String name, String description) {}
