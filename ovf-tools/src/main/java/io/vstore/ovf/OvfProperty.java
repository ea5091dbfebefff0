package io.vstore.ovf;

import java.util.List;

/**
 * One {@code ProductSection/Property}. {@link #fullKey} is what an OVF environment names it:
 * {@code class.key.instance} with the empty parts left out. {@code value} is the default, with any
 * {@code ovf:configuration}-specific {@code Value} in {@code configurationValues} as
 * {@code "configuration=value"} pairs.
 */
public record OvfProperty(String key, String fullKey, String type, String qualifiers, String value,
    boolean userConfigurable, boolean password, String label, String description, String category,
    List<String> configurationValues) {}
