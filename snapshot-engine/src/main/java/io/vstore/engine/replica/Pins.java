package io.vstore.engine.replica;

import io.vstore.blockstore.store.ChangePin;
import io.vstore.blockstore.store.Datastore;
import java.io.IOException;

/** The change-log pins a pair keeps, labelled {@code replica:<id>:<generation>}. */
final class Pins {
  private Pins() {}

  static String label(String id, String changeId) {
    return "replica:" + id + ":" + changeId.substring(changeId.indexOf('/') + 1);
  }

  /** Pins {@code changeId} for pair {@code id} unless that pin exists already. */
  static void pin(Datastore ds, String id, String changeId) throws IOException {
    String label = label(id, changeId);
    for (ChangePin p : ds.changePins(null)) {
      if (label.equals(p.label())) {
        return;
      }
    }
    ds.pinChangeId(changeId, label);
  }

  /** Removes pair {@code id}'s pins on {@code volume} except the one of {@code keep} (null: all). */
  static void unpinOthers(Datastore ds, String id, String volume, String keep) throws IOException {
    String prefix = "replica:" + id + ":";
    String kept = keep == null ? null : label(id, keep);
    for (ChangePin p : ds.changePins(volume)) {
      if (p.label() != null && p.label().startsWith(prefix) && !p.label().equals(kept)) {
        ds.unpinChangeId(p.label());
      }
    }
  }
}
