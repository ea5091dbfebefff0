package io.vstore.offline;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * A policy document and its Ed25519 signature by the server, both base64 (the document's exact
 * bytes are what is signed), with the server's public key (X.509, base64) that checks it.
 */
public record SignedPolicy(String document, String signature, String publicKey) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Signs {@code doc} with {@code key}; {@code publicKey} is the matching public key. */
  public static SignedPolicy sign(PolicyDocument doc, PrivateKey key, PublicKey publicKey) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(doc);
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initSign(key);
      s.update(bytes);
      Base64.Encoder b64 = Base64.getEncoder();
      return new SignedPolicy(b64.encodeToString(bytes), b64.encodeToString(s.sign()),
          b64.encodeToString(publicKey.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot sign the check-out policy: " + e.getMessage(), e);
    }
  }

  /**
   * Checks the signature with {@code trusted} (the key recorded at check-out, base64 X.509) and
   * returns the document; a bad signature or another key is a {@link TransferException}.
   */
  public PolicyDocument verify(String trusted) throws IOException {
    if (!publicKey.equals(trusted)) {
      throw new TransferException("bad policy: signed by another key than the server's of the check-out");
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(document);
      PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(
          new X509EncodedKeySpec(Base64.getDecoder().decode(trusted)));
      Signature s = Signature.getInstance("Ed25519");
      s.initVerify(key);
      s.update(bytes);
      if (!s.verify(Base64.getDecoder().decode(signature))) {
        throw new TransferException("bad policy: its signature does not match (tampered with?)");
      }
    } catch (IllegalArgumentException | GeneralSecurityException e) {
      throw new TransferException("bad policy: " + e.getMessage());
    }
    PolicyDocument doc = JSON.readValue(new String(bytes, StandardCharsets.UTF_8), PolicyDocument.class);
    if (doc.version() != PolicyDocument.VERSION) {
      throw new TransferException("unsupported policy document version " + doc.version() + " (this vstore reads "
          + PolicyDocument.VERSION + ")");
    }
    return doc;
  }
}
