package io.vstore.nbd;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The exports a server offers, changeable while it serves. Removing an export disconnects its
 * clients (after their requests in flight complete) before {@link #remove} returns, so the caller
 * may then close the device.
 */
public final class ExportRegistry {
  @GuardedBy("this")
  private final Map<String, Export> exports = new LinkedHashMap<>();
  private final List<Consumer<Export>> removalListeners = new CopyOnWriteArrayList<>();

  /** Adds {@code export}; throws if an export of that name already exists. */
  public synchronized void add(Export export) {
    if (exports.containsKey(export.name())) {
      throw new IllegalStateException("export '" + export.name() + "' already exists");
    }
    exports.put(export.name(), export);
  }

  /**
   * Removes the export called {@code name} and disconnects its clients; returns it, or empty when
   * there was none.
   */
  public Optional<Export> remove(String name) {
    Export removed;
    synchronized (this) {
      removed = exports.remove(name);
    }
    if (removed != null) {
      for (Consumer<Export> l : removalListeners) {
        l.accept(removed);
      }
    }
    return Optional.ofNullable(removed);
  }

  /**
   * Finds the export a client asked for: the empty name selects the export called "" if there is
   * one, otherwise the first export added (like qemu-nbd's default export).
   */
  public synchronized Optional<Export> find(String name) {
    Export e = exports.get(name);
    if (e == null && name.isEmpty() && !exports.isEmpty()) {
      e = exports.values().iterator().next();
    }
    return Optional.ofNullable(e);
  }

  /** Returns the exports in the order they were added. */
  public synchronized List<Export> list() {
    return new ArrayList<>(exports.values());
  }

  /** Registers {@code listener} to run (on the removing thread) for every removed export. */
  void onRemove(Consumer<Export> listener) {
    removalListeners.add(listener);
  }

  /** Unregisters a listener given to {@link #onRemove}. */
  void removeListener(Consumer<Export> listener) {
    removalListeners.remove(listener);
  }
}
