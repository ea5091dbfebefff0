package io.vstore.ovf;

/** One {@code DeploymentOptionSection/Configuration}: id, label, description, whether it is the default. */
public record DeploymentOption(String id, String label, String description, boolean isDefault) {}
