/**
 * Virtual disk formats as {@link io.vstore.blockstore.BlockDevice}s over files: the format
 * registry, content probing, and the format-neutral operations (info, check, convert, compare,
 * map). Each format lives in its own subpackage and depends only on this package and blockstore.
 */
package io.vstore.vdisk;
