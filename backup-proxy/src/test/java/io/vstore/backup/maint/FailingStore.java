package io.vstore.backup.maint;

import io.vstore.backup.store.ForwardingObjectStore;
import io.vstore.backup.store.ObjectInfo;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A store that dies part-way, like a process killed with -9: after {@code writesLeft} puts and
 * deletes every further write fails (and nothing more reaches the store), reads still work.
 */
final class FailingStore extends ForwardingObjectStore {
  private int writesLeft;

  FailingStore(ObjectStore store, int writesLeft) {
    super(store);
    this.writesLeft = writesLeft;
  }

  boolean failed() {
    return writesLeft < 0;
  }

  private synchronized void write(String key) throws IOException {
    if (--writesLeft < 0) {
      throw new IOException("injected crash before writing " + key);
    }
  }

  @Override
  public boolean putIfAbsent(String key, ByteBuffer data) throws IOException {
    write(key);
    return delegate.putIfAbsent(key, data);
  }

  @Override
  public void delete(String key) throws IOException {
    write(key);
    delegate.delete(key);
  }

  @Override
  public void close() {}

  @Override
  public String toString() {
    return delegate + " (failing)";
  }
}
