package io.vstore.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;

/** Prints command results as JSON ({@code --json}) with stable field names. */
public final class Output {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .addMixIn(io.vstore.blockstore.store.DatastoreInfo.class, DatastoreInfoNames.class)
      .addMixIn(io.vstore.blockstore.store.CheckReport.class, CheckReportNames.class)
      .addMixIn(io.vstore.blockstore.store.VolumeInfo.class, VolumeInfoNames.class)
      .addMixIn(io.vstore.engine.PoolReport.class, PoolReportNames.class);

  // One name per concept across every command's JSON: a count is NAMECount, never the plural
  // that names a list elsewhere (a VM's "snapshots" is a list; a volume's count is "snapshotCount").

  /** JSON names of {@code datastore info}'s counts. */
  abstract static class DatastoreInfoNames {
    @JsonProperty("volumeCount") abstract int volumes();

    @JsonProperty("segmentCount") abstract int segments();
  }

  /** JSON names of {@code datastore check}'s counts. */
  abstract static class CheckReportNames {
    @JsonProperty("volumeCount") abstract int volumes();

    @JsonProperty("mapEntryCount") abstract long mapEntries();

    @JsonProperty("recordCount") abstract long records();

    @JsonProperty("segmentCount") abstract int segments();
  }

  /** JSON name of a volume's snapshot count. */
  abstract static class VolumeInfoNames {
    @JsonProperty("snapshotCount") abstract int snapshots();
  }

  /** JSON name of a pool report's desktop count. */
  abstract static class PoolReportNames {
    @JsonProperty("desktopCount") abstract int desktops();
  }

  private Output() {}

  /** Writes {@code value} (records, maps, lists) as indented JSON followed by a newline. */
  public static void json(PrintWriter out, Object value) {
    try {
      out.println(JSON.writeValueAsString(value));
      out.flush();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot print " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }
}
