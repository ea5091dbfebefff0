import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.nio.file.Path;

/**
 * Creates a fresh datastore with one empty volume for nbd-bench.sh (the CLI has no volume
 * commands yet). Run with the single-file launcher: java -cp 'cli/target/vstore.jar:cli/target/lib/*'
 * bench/scripts/NbdBenchVolume.java DIR VOLUME SIZE_BYTES
 */
public class NbdBenchVolume {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: NbdBenchVolume DIR VOLUME SIZE_BYTES");
      System.exit(2);
    }
    try (Datastore ds = Datastore.create(Path.of(args[0]), DatastoreOptions.defaults(), 0);
        Volume v = ds.createVolume(args[1], Long.parseLong(args[2]))) {
      System.out.println("created " + v + " of " + v.size() + " bytes in " + ds);
    }
  }
}
