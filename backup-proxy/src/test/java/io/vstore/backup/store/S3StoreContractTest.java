package io.vstore.backup.store;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link S3Store} on a real Ceph RGW passes the store contract, in a bucket without versioning. */
@ExtendWith(CephRgw.class)
class S3StoreContractTest extends ObjectStoreContract {
  private static final AtomicInteger PREFIXES = new AtomicInteger();
  private static String bucket;

  @BeforeAll
  static void createBucket() {
    bucket = CephRgw.server().createBucket(CephRgw.BucketKind.PLAIN, 0);
  }

  /** Returns the bucket the stores are made in (a subclass tests in another kind of bucket). */
  String bucket() {
    return bucket;
  }

  @Override
  protected ObjectStore openStore() throws IOException {
    // Each test in its own prefix, two levels deep, so that the prefix handling is exercised.
    return S3Store.open(new S3Location(bucket(), "repos/t" + PREFIXES.incrementAndGet()), CephRgw.server().settings());
  }

  @Override
  protected void cleanUp(ObjectStore s) throws IOException {
    deleteAll(s);   // memstore keeps objects in RAM
  }
}
