package io.vstore.vdisk;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The bytes format detection looks at: the file's head and tail.
 *
 * @param path the file
 * @param fileSize its size
 * @param head read-only view of the first {@code min(fileSize, 64 KiB)} bytes
 * @param tail read-only view of the last {@code min(fileSize, 512)} bytes (VHD fixed footer)
 */
public record ImageProbe(Path path, long fileSize, ByteBuffer head, ByteBuffer tail) {}
