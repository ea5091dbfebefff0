package io.vstore.server.auth;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The daemon's API tokens, kept hashed in {@code <datastore>/tokens.json} (mode 0600). A token is
 * {@code vst_<id>_<secret>}; only the SHA-256 of the secret is stored (the secret is 256 random
 * bits, so no slow hash is needed), and it is compared in constant time. On first start an admin
 * token is created and its plain text written to {@code <datastore>/admin.token} (mode 0600),
 * the way Jupyter and Docker hand out their first credential.
 */
public final class TokenStore {
  /** The file that holds the hashed tokens. */
  public static final String FILE = "tokens.json";
  /** The file that holds the first admin token in plain text, for the datastore's owner. */
  public static final String ADMIN_FILE = "admin.token";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int MAX_FILE_BYTES = 4 << 20;

  /** One token as stored: never the secret itself. */
  public record Token(String id, String name, String scope, String sha256, String created) {
    /** Returns the token's scope. */
    public Scope scopeValue() {
      return Scope.parse(scope);
    }
  }

  /** A newly created token: its record and its secret, shown once. */
  public record Created(Token token, String secret) {}

  private final Path file;
  @GuardedBy("this")
  private final List<Token> tokens;

  private TokenStore(Path file, List<Token> tokens) {
    this.file = file;
    this.tokens = tokens;
  }

  /** Opens the tokens of the datastore at {@code dir}; on first use creates the admin token and its file. */
  public static TokenStore open(Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    if (Files.exists(file)) {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new IOException("bad token file " + file + ": larger than " + MAX_FILE_BYTES + " bytes");
      }
      List<Token> list;
      try {
        list = JSON.readValue(file.toFile(), new TypeReference<List<Token>>() {});
      } catch (IOException e) {
        throw new IOException("bad token file " + file + ": " + e.getMessage().lines().findFirst().orElse(""), e);
      }
      if (list == null) {
        throw new IOException("bad token file " + file + ": null instead of a list of tokens");
      }
      for (Token t : list) {
        check(file, t);
      }
      return new TokenStore(file, new ArrayList<>(list));
    }
    TokenStore store = new TokenStore(file, new ArrayList<>());
    Created admin = store.create("admin", Scope.ADMIN);
    AtomicFiles.replacePrivate(dir.resolve(ADMIN_FILE), (admin.secret() + "\n").getBytes(StandardCharsets.UTF_8));
    return store;
  }

  /** Checks a token read from {@code file}: every field present and well formed. */
  private static void check(Path file, Token t) throws IOException {
    if (t == null || t.id() == null || !t.id().matches("[0-9a-f]{8}") || t.name() == null || t.created() == null
        || t.sha256() == null || !t.sha256().matches("[0-9a-f]{64}")) {
      throw new IOException("bad token file " + file + ": a token lacks its id, name, hash or creation time: " + t);
    }
    try {
      t.scopeValue();
    } catch (IllegalArgumentException e) {
      throw new IOException("bad token file " + file + ": token " + t.id() + " has " + e.getMessage(), e);
    }
  }

  /** Creates a token named {@code name} with {@code scope}; its secret is returned once and never stored. */
  public synchronized Created create(String name, Scope scope) throws IOException {
    if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")) {
      throw new IllegalArgumentException("invalid token name '" + name + "': use 1-64 letters, digits, '.', '_', '@' or '-'");
    }
    byte[] idBytes = new byte[4];
    RANDOM.nextBytes(idBytes);
    String id = HexFormat.of().formatHex(idBytes);
    byte[] secretBytes = new byte[32];
    RANDOM.nextBytes(secretBytes);
    String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
    Token token = new Token(id, name, scope.label(), sha256(secret), Instant.now().toString());
    tokens.add(token);
    save();
    return new Created(token, "vst_" + id + "_" + secret);
  }

  /** Returns every token, oldest first. */
  public synchronized List<Token> list() {
    return List.copyOf(tokens);
  }

  /** Revokes the token with {@code idOrName}; returns whether one was found. */
  public synchronized boolean revoke(String idOrName) throws IOException {
    boolean removed = tokens.removeIf(t -> t.id().equals(idOrName) || t.name().equals(idOrName));
    if (removed) {
      save();
    }
    return removed;
  }

  /** Returns the principal of a presented token, or empty if it is malformed, unknown or revoked. */
  public Optional<Principal> authenticate(String presented) {
    if (presented == null || !presented.startsWith("vst_") || presented.length() > 200) {
      return Optional.empty();
    }
    int sep = presented.indexOf('_', 4);
    if (sep < 0) {
      return Optional.empty();
    }
    String id = presented.substring(4, sep);
    byte[] hash = sha256(presented.substring(sep + 1)).getBytes(StandardCharsets.US_ASCII);
    Token match;
    synchronized (this) {
      match = tokens.stream().filter(t -> t.id().equals(id)).findFirst().orElse(null);
    }
    if (match == null || !MessageDigest.isEqual(hash, match.sha256().getBytes(StandardCharsets.US_ASCII))) {
      return Optional.empty();
    }
    return Optional.of(new Principal(match.name(), match.scopeValue()));
  }

  @GuardedBy("this")
  private void save() throws IOException {
    AtomicFiles.replacePrivate(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(tokens));
  }

  private static String sha256(String secret) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }
}
