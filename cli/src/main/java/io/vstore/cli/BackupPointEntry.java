package io.vstore.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.store.ObjectInfo;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** A point as {@code backup list}, {@code info} and {@code create} print it (JSON field names are stable). */
record BackupPointEntry(String id, String time, String source, String kind, String group, String changeId,
    long sizeBytes, long bytes, long newBytes, String base, List<String> tags,
    @JsonProperty("protected") boolean isProtected) {

  /** Returns {@code p} as printed; {@code isProtected} says whether prune must keep it. */
  static BackupPointEntry of(PointInfo p, boolean isProtected) {
    return new BackupPointEntry(p.id(), p.time().toString(), p.source(), p.kind(), p.group(), p.changeId(),
        p.sizeBytes(), p.bytes(), p.newBytes(), p.base(), p.tags(), isProtected);
  }

  /** Returns the ids of the protected points (backup-maint's {@code protect/<pointid>} objects). */
  static Set<String> protectedIds(Repository repo) throws IOException {
    Set<String> out = new HashSet<>();
    repo.store().list("protect/", (ObjectInfo o) -> out.add(o.key().substring(o.key().lastIndexOf('/') + 1)));
    return out;
  }
}
