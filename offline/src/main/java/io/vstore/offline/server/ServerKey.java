package io.vstore.offline.server;

import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;

/**
 * The server's Ed25519 key pair that signs check-out policies: made on first use and kept in the
 * datastore's {@code checkouts/} directory, the private key in a mode-0600 file (PKCS#8), the
 * public key beside it (X.509).
 */
record ServerKey(PrivateKey privateKey, PublicKey publicKey) {
  static final String PRIVATE_FILE = "signing-key.pk8";
  static final String PUBLIC_FILE = "signing-key.pub";

  /** Loads the key pair from {@code dir}, creating it if absent. */
  static ServerKey loadOrCreate(Path dir) throws IOException {
    Path priv = dir.resolve(PRIVATE_FILE);
    Path pub = dir.resolve(PUBLIC_FILE);
    try {
      KeyFactory kf = KeyFactory.getInstance("Ed25519");
      if (Files.exists(priv) && Files.exists(pub)) {
        return new ServerKey(kf.generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(priv))),
            kf.generatePublic(new X509EncodedKeySpec(Files.readAllBytes(pub))));
      }
      KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      Files.createDirectories(dir);
      AtomicFiles.replace(pub, pair.getPublic().getEncoded());
      AtomicFiles.replacePrivate(priv, pair.getPrivate().getEncoded());
      return new ServerKey(pair.getPrivate(), pair.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IOException("bad check-out signing key in " + dir + ": " + e.getMessage(), e);
    }
  }
}
