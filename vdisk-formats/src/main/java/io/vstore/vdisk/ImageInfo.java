package io.vstore.vdisk;

import java.util.List;
import java.util.Map;

/**
 * What {@code vstore image info} reports about one image file.
 *
 * @param path the image file
 * @param format qemu-img's name of the format
 * @param subformat variant (monolithicSparse, dynamic, fixed, v3, ...), or null
 * @param virtualSize guest-visible size in bytes
 * @param allocatedSize bytes the file(s) occupy on the host file system
 * @param clusterSize allocation unit of the format in bytes, or 0 when it has none
 * @param backingFile the backing/parent file as recorded in the image, or null
 * @param extents the data files the image consists of (multi-extent formats), else just the file
 * @param details format-specific facts worth showing (stable keys)
 */
public record ImageInfo(
    String path,
    String format,
    String subformat,
    long virtualSize,
    long allocatedSize,
    long clusterSize,
    String backingFile,
    List<String> extents,
    Map<String, Object> details) {}
