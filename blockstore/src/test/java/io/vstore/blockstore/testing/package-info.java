/**
 * Fakes and shared test suites other modules reuse through this module's test jar: an in-memory
 * reference device and the contract every {@link io.vstore.blockstore.BlockDevice} must pass.
 */
package io.vstore.blockstore.testing;
