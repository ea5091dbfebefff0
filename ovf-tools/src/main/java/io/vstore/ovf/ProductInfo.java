package io.vstore.ovf;

import java.util.List;

/** One {@code ProductSection}: class and instance, product identity and its properties. */
public record ProductInfo(String className, String instance, String product, String vendor, String version,
    String fullVersion, String productUrl, String vendorUrl, List<OvfProperty> properties) {}
