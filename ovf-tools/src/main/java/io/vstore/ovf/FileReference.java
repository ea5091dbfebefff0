package io.vstore.ovf;

/**
 * One {@code References/File}: an id, a package-relative href, the size in bytes as stored (for
 * {@code ovf:compression="gzip"} the compressed size; {@code null} when not given), the compression
 * ({@code null} for none) and the chunk size when the file is split into {@code href.000000000},
 * {@code href.000000001}, ... ({@code null} when not chunked).
 */
public record FileReference(String id, String href, Long size, String compression, Long chunkSize) {}
