package io.vstore.ovf.pkg;

import java.nio.file.Path;

/**
 * One file of a package as stored: its checked name, its size in bytes, where its data starts in a
 * seekable OVA (-1 otherwise), and its path when the package is a directory (null otherwise).
 */
record Member(String name, long size, long dataOffset, Path path) {}
