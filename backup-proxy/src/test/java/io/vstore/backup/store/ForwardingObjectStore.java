package io.vstore.backup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A store that hands every call to another one, for tests' wrappers that count, record or fail some
 * calls: a wrapper overrides only those. {@link #read} is not forwarded: the interface's default
 * reads through {@link #get(String, long, int)}, so a wrapper of ranged gets sees every ranged read.
 */
public abstract class ForwardingObjectStore implements ObjectStore {
  protected final ObjectStore delegate;

  protected ForwardingObjectStore(ObjectStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public boolean putIfAbsent(String key, ByteBuffer data) throws IOException {
    return delegate.putIfAbsent(key, data);
  }

  @Override
  public byte[] get(String key) throws IOException {
    return delegate.get(key);
  }

  @Override
  public byte[] get(String key, long offset, int length) throws IOException {
    return delegate.get(key, offset, length);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    return delegate.stat(key);
  }

  @Override
  public void list(String prefix, Consumer<ObjectInfo> visitor) throws IOException {
    delegate.list(prefix, visitor);
  }

  @Override
  public void delete(String key) throws IOException {
    delegate.delete(key);
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }

  @Override
  public String toString() {
    return delegate.toString();
  }
}
