package io.vstore.server;

import io.vstore.blockstore.store.DatastoreOptions;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/**
 * How {@code vstore serve} runs: the datastores it owns (the first holds the tokens), whether a
 * missing default datastore is created, the optional TCP listener with its TLS files, the NBD
 * listener, the optional alarm webhook, the limit on concurrent heavy jobs per datastore, and the
 * metadata cache budget of the whole daemon, shared evenly by its datastores (the daemon's heap is
 * fixed, so two datastores must not each take the default budget).
 */
public record DaemonConfig(List<Path> datastores, boolean createMissing, InetSocketAddress listen, Path tlsCert,
    Path tlsKey, InetSocketAddress nbdListen, URI alarmWebhook, int maxHeavyJobs, long metadataCacheBytes) {
  /** The NBD port IANA assigned. */
  public static final int NBD_PORT = 10809;

  /** Checks the combination of options. */
  public DaemonConfig {
    datastores = List.copyOf(datastores);
    if (datastores.isEmpty()) {
      throw new IllegalArgumentException("vstore serve needs at least one datastore");
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("give both --tls-cert and --tls-key, or neither");
    }
    if (tlsCert != null && listen == null) {
      throw new IllegalArgumentException("--tls-cert needs --listen HOST:PORT");
    }
    if (maxHeavyJobs < 1) {
      throw new IllegalArgumentException("the heavy-job limit must be at least 1, not " + maxHeavyJobs);
    }
    if (metadataCacheBytes < MIN_METADATA_CACHE_PER_DATASTORE * datastores.size()) {
      throw new IllegalArgumentException("a metadata cache of " + metadataCacheBytes + " bytes is too small for "
          + datastores.size() + " datastore(s): at least " + (MIN_METADATA_CACHE_PER_DATASTORE >> 20) + " MiB each");
    }
  }

  /** The smallest metadata cache budget given to one datastore. */
  public static final long MIN_METADATA_CACHE_PER_DATASTORE = 8L << 20;

  /** A configuration with the default metadata cache budget ({@link DatastoreOptions#DEFAULT_METADATA_CACHE}). */
  public DaemonConfig(List<Path> datastores, boolean createMissing, InetSocketAddress listen, Path tlsCert,
      Path tlsKey, InetSocketAddress nbdListen, URI alarmWebhook, int maxHeavyJobs) {
    this(datastores, createMissing, listen, tlsCert, tlsKey, nbdListen, alarmWebhook, maxHeavyJobs,
        DatastoreOptions.DEFAULT_METADATA_CACHE);
  }

  /** Returns the metadata cache budget of each datastore: the daemon's, shared evenly. */
  public long metadataCachePerDatastore() {
    return metadataCacheBytes / datastores.size();
  }

  /** Returns a configuration for {@code datastores} with no TCP listener, NBD on an ephemeral loopback port. */
  public static DaemonConfig local(List<Path> datastores) {
    return new DaemonConfig(datastores, false, null, null, null, new InetSocketAddress("127.0.0.1", 0), null, 2);
  }
}
