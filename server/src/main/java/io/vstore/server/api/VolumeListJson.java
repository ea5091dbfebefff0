package io.vstore.server.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.server.http.Exchange;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The JSON of one datastore's {@code GET /api/v1/volumes}, with each volume's object kept while its
 * figures are unchanged. Listing 10,000 volumes spent most of its time serializing objects that had
 * not changed since the previous listing; the figures themselves are still read on every request
 * (cheap), and a volume's cached bytes are reused only while they equal its current figures, so the
 * answer is always exact.
 */
final class VolumeListJson {
  private record Cached(VolumeInfo info, byte[] json) {}

  /** By volume uuid: names are reused after a delete or rename, uuids never. */
  private static final int BUFFER = 64 << 10;

  private final ConcurrentHashMap<String, Cached> byUuid = new ConcurrentHashMap<>();

  /**
   * Sends {@code page} as a JSON array, byte for byte what {@link Exchange#JSON} writes for it, with
   * its length known (no chunked encoding) and without assembling it in one array first (megabytes
   * for 10,000 volumes).
   *
   * @param all every volume of the datastore (the cache forgets volumes no longer in it)
   */
  void send(Exchange ex, List<VolumeInfo> page, List<VolumeInfo> all) throws IOException {
    byte[][] parts = parts(page);
    long total = 2L + Math.max(0, parts.length - 1);
    for (byte[] part : parts) {
      total += part.length;
    }
    forgetMissing(all);
    try (OutputStream out = new BufferedOutputStream(ex.stream(200, "application/json", total), BUFFER)) {
      write(out, parts);
    }
  }

  /** Returns {@code page} as a JSON array (tests). */
  byte[] write(List<VolumeInfo> page, List<VolumeInfo> all) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    write(out, parts(page));
    forgetMissing(all);
    return out.toByteArray();
  }

  private byte[][] parts(List<VolumeInfo> page) throws JsonProcessingException {
    byte[][] parts = new byte[page.size()][];
    for (int i = 0; i < parts.length; i++) {
      VolumeInfo info = page.get(i);
      Cached c = byUuid.get(info.uuid());
      if (c == null || c.info() != info && !c.info().equals(info)) {
        c = new Cached(info, Exchange.JSON.writeValueAsBytes(info));
        byUuid.put(info.uuid(), c);
      }
      parts[i] = c.json();
    }
    return parts;
  }

  private static void write(OutputStream out, byte[][] parts) throws IOException {
    out.write('[');
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) {
        out.write(',');
      }
      out.write(parts[i]);
    }
    out.write(']');
  }

  /** Drops the entries of volumes that are gone, once they would make up a tenth of the cache. */
  private void forgetMissing(List<VolumeInfo> all) {
    if (byUuid.size() <= all.size() + all.size() / 10 + 16) {
      return;
    }
    Set<String> live = new HashSet<>(all.size() * 2);
    for (VolumeInfo v : all) {
      live.add(v.uuid());
    }
    byUuid.keySet().retainAll(live);
  }

  /** Returns how many volumes' JSON is held (tests). */
  int size() {
    return byUuid.size();
  }
}
