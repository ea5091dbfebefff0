/**
 * Workflows between image backing chains and volume histories: {@link ChainImport} turns a chain
 * into a volume with one snapshot per lower level, {@link ChainExport} turns a volume and its
 * snapshots into a chain of delta images. The command line, the daemon and OVF share them.
 */
package io.vstore.vdisk.chain;
