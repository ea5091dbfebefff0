package io.vstore.cli;

import io.vstore.cli.client.DaemonClient;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The start-up path of a short command on a datastore that a local daemon owns: recognizes the
 * command line by its words, sends it over the datastore's Unix socket as {@code POST
 * /api/v1/commands} in plain HTTP/1.1 and prints the NDJSON answer, all before picocli, Jetty's
 * client or Jackson is loaded (building the command tree and starting the HTTP client cost ten
 * times the exchange itself). Anything it is not sure of goes to {@link ClientDispatch} unchanged:
 * help, {@code --remote}, jobs, commands that draw progress, unusual option forms, and every answer
 * but 200, which is how the daemon refuses a command line before running anything (then the local
 * parse reports a usage error as it would without a daemon).
 *
 * <p>The code on the way of a taken command uses no lambda and no string concatenation with
 * {@code +} (error messages aside): the first use of each such call site has the JDK generate a
 * class at run time.
 */
final class Forwarder {
  /**
   * The commands taken: those that go to the daemon ({@link CommandPlans#forwardable}), run at once
   * (no job kind) and draw no progress. {@code ForwarderTest} checks this list against the tree.
   */
  static final Set<String> COMMANDS = Set.of(
      "backup mount", "backup umount", "cbt changes", "cbt pin", "cbt pins", "cbt unpin", "clone create",
      "datastore info", "datastore init", "datastore key add", "datastore key list", "datastore key passwd",
      "datastore key remove", "datastore set",
      "pool delete", "pool info", "pool list", "pool set",
      "snapshot create", "snapshot delete", "snapshot list", "snapshot revert",
      "vm create", "vm delete", "vm info", "vm list", "vm media add", "vm media list", "vm media remove", "vm revert",
      "vm snapshot create", "vm snapshot delete", "vm snapshot list", "vm snapshot revert",
      "volume create", "volume delete", "volume info", "volume list", "volume rename", "volume resize");

  /**
   * Jobs taken on a condition, each with the option it depends on: {@code restore --instant} (it then
   * runs at once: lays the volume over the point and exports it; the copy is a job of its own), whose
   * whole point is that the export comes up at once; and {@code backup create} and a plain {@code
   * restore} when they draw no progress bar ({@code --no-progress}, or no terminal and no {@code
   * --progress}): a backup or restore through the daemon should cost the client no more than the
   * exchange. Picocli, Jetty's client and Jackson would cost the client seconds first.
   */
  static final Map<String, String> WITH_OPTION = Map.of("restore", "--instant", "backup create", "--no-progress");

  /** Returns whether the fast path takes {@code command} (a key of {@link #WITH_OPTION}) with arguments {@code rest}. */
  static boolean takes(String command, List<String> rest, boolean terminal) {
    if (command.equals("restore") && rest.contains("--instant")) {
      return true;
    }
    // backup create, and a restore into a volume or file: jobs whose client has nothing to do but
    // wait, unless it draws a bar. A restore run by the daemon also finds the repository's key
    // derived (KekCache) and its decryption compiled, which a restore process pays again each time.
    boolean asked = rest.contains("--progress") || rest.contains("-p");
    return rest.contains("--no-progress") || !terminal && !asked;
  }

  /** Global options left to {@link ClientDispatch}: they name another daemon or change how it answers. */
  private static final Set<String> CLIENT_OPTIONS = Set.of("--remote", "--token", "--ca-cert", "--no-wait");
  private static final int MAX_HEADER_LINE = 16 << 10;

  /** A command line taken by the fast path: the datastore it works on, and the argv to send. */
  record Request(Path datastore, List<String> argv) {}

  private Forwarder() {}

  /**
   * Sends {@code args} to the daemon that owns their datastore and returns the exit code; empty when
   * the command line is not one for this path, no daemon answers, or the daemon did not take it.
   */
  static OptionalInt forward(String[] args, PrintWriter out, PrintWriter err) {
    String remote = System.getenv("VSTORE_REMOTE");
    if (remote != null && !remote.isBlank()) {
      return OptionalInt.empty();
    }
    Request request = request(args);
    if (request == null) {
      return OptionalInt.empty();
    }
    Path socket = request.datastore().resolve(DaemonClient.SOCKET);
    if (!Files.exists(socket)) {
      return OptionalInt.empty();
    }
    SocketChannel channel;
    try {
      channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    } catch (IOException | RuntimeException e) {
      return OptionalInt.empty(); // no daemon listens (one crashed and left its socket): run here
    }
    boolean taken = false;
    try (channel) {
      OutputStream to = Channels.newOutputStream(channel);
      to.write(httpRequest(request.argv(), Path.of("").toAbsolutePath().toString()));
      to.flush();
      InputStream from = new BufferedInputStream(Channels.newInputStream(channel));
      InputStream body = answer(from);
      if (body == null) {
        return OptionalInt.empty();
      }
      taken = true;
      return OptionalInt.of(relay(body, socket, out, err));
    } catch (IOException | RuntimeException e) {
      if (!taken) {
        return OptionalInt.empty(); // nothing ran: the full client tries again and reports what fails
      }
      err.println("vstore: lost the daemon at " + socket + ": " + CommandLines.describe(e));
      err.flush();
      return OptionalInt.of(1);
    }
  }

  /**
   * Returns whether {@code args} is a command line of this path whose datastore no local daemon
   * owns (no socket) and that names no other daemon: it then runs in this process, and {@link
   * ClientDispatch} would only find that out again at the cost of a full parse and plan.
   */
  static boolean noDaemon(String[] args) {
    String remote = System.getenv("VSTORE_REMOTE");
    if (remote != null && !remote.isBlank()) {
      return false;
    }
    Request request = request(args);
    return request != null && !Files.exists(request.datastore().resolve(DaemonClient.SOCKET));
  }

  /**
   * Returns the request for {@code args} when the fast path takes them, else null: the command's
   * words must name one of {@link #COMMANDS}, with only {@code -D PATH}, {@code --datastore PATH},
   * {@code --datastore=PATH} and {@code --debug} before them, and nothing that asks for help. As
   * {@link ClientDispatch} does, the datastore goes first as an absolute {@code -D}.
   */
  static Request request(String[] args) {
    Path datastore = null;
    List<String> rest = new ArrayList<>();
    String command = "";
    boolean known = false;
    String needed = null; // the option a WITH_OPTION command must be given
    try {
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (a.equals("--") || a.startsWith("@") || asksForHelp(a)) {
          return null;
        }
        if (a.equals("-D") || a.equals("--datastore")) {
          if (i + 1 == args.length) {
            return null;
          }
          datastore = Path.of(args[++i]);
          continue;
        }
        if (a.startsWith("--datastore=")) {
          datastore = Path.of(a.substring("--datastore=".length()));
          continue;
        }
        int eq = a.indexOf('=');
        if (a.startsWith("-D") || CLIENT_OPTIONS.contains(eq > 0 ? a.substring(0, eq) : a)) {
          return null;
        }
        if (!known) {
          if (a.startsWith("-") && !a.equals("--debug")) {
            return null; // an option of a command group, or a mistake: picocli says which
          }
          if (!a.startsWith("-")) {
            command = command.isEmpty() ? a : String.join(" ", command, a);
            needed = WITH_OPTION.get(command);
            known = COMMANDS.contains(command) || needed != null;
            if (!known && !startsAny(command) && !startsAny(command, WITH_OPTION.keySet())) {
              return null;
            }
          }
        }
        rest.add(a);
      }
      if (!known || needed != null && !takes(command, rest, Terminal.isInteractive())) {
        return null;
      }
      Path dir = DatastoreLocation.choose(datastore).toAbsolutePath().normalize();
      List<String> argv = new ArrayList<>(rest.size() + 2);
      argv.add("-D");
      argv.add(dir.toString());
      argv.addAll(rest);
      return new Request(dir, List.copyOf(argv));
    } catch (InvalidPathException e) {
      return null; // the full path reports the bad path
    }
  }

  /** Returns whether {@code a} asks for help or the version, alone or among clustered short options. */
  private static boolean asksForHelp(String a) {
    if (a.equals("--help") || a.equals("--version")) {
      return true;
    }
    if (a.length() < 2 || a.charAt(0) != '-' || a.charAt(1) == '-' || a.startsWith("-D")) {
      return false;
    }
    for (int i = 1; i < a.length(); i++) {
      if (!Character.isLetter(a.charAt(i))) {
        return false;
      }
    }
    return a.indexOf('h') > 0 || a.indexOf('V') > 0;
  }

  /** Returns whether some command's words start with the words {@code words}. */
  private static boolean startsAny(String words) {
    return startsAny(words, COMMANDS);
  }

  private static boolean startsAny(String words, Set<String> commands) {
    for (String c : commands) {
      if (c.length() > words.length() && c.startsWith(words) && c.charAt(words.length()) == ' ') {
        return true;
      }
    }
    return false;
  }

  /** Returns the HTTP/1.1 request that runs {@code argv} in {@code cwd} and waits for its end. */
  static byte[] httpRequest(List<String> argv, String cwd) {
    StringBuilder json = new StringBuilder("{\"argv\":[");
    for (int i = 0; i < argv.size(); i++) {
      json.append(i == 0 ? "" : ",").append(JsonText.quote(argv.get(i)));
    }
    json.append("],\"cwd\":").append(JsonText.quote(cwd)).append(",\"wait\":true}");
    byte[] body = json.toString().getBytes(StandardCharsets.UTF_8);
    // One request a connection: the daemon closes it after the answer, which ends the body.
    String head = new StringBuilder("POST ").append(ClientDispatch.COMMANDS).append(" HTTP/1.1\r\nHost: localhost\r\n")
        .append("Content-Type: application/json\r\nAccept: application/x-ndjson\r\n")
        .append("Content-Length: ").append(body.length).append("\r\nConnection: close\r\n\r\n").toString();
    byte[] head8 = head.getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[head8.length + body.length];
    System.arraycopy(head8, 0, all, 0, head8.length);
    System.arraycopy(body, 0, all, head8.length, body.length);
    return all;
  }

  /** Reads the status line and headers; returns the body of a 200 answer, or null for any other status. */
  static InputStream answer(InputStream in) throws IOException {
    String status = line(in);
    String[] parts = status.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
      throw new IOException("bad HTTP answer: status line '" + status + "'");
    }
    boolean chunked = false;
    long length = -1;
    for (String h = line(in); !h.isEmpty(); h = line(in)) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new IOException("bad HTTP answer: header line '" + h + "'");
      }
      String name = h.substring(0, colon).strip().toLowerCase(Locale.ROOT);
      String value = h.substring(colon + 1).strip();
      if (name.equals("transfer-encoding")) {
        chunked = value.toLowerCase(Locale.ROOT).endsWith("chunked");
      } else if (name.equals("content-length")) {
        try {
          length = Long.parseLong(value);
        } catch (NumberFormatException e) {
          throw new IOException("bad HTTP answer: Content-Length '" + value + "'", e);
        }
      }
    }
    if (!parts[1].equals("200")) {
      return null;
    }
    return chunked ? new Chunked(in) : length >= 0 ? new Bounded(in, length) : in;
  }

  /** Prints the NDJSON lines of {@code body} to {@code out} and {@code err}; returns the exit line's code (1 without one). */
  static int relay(InputStream body, Path socket, PrintWriter out, PrintWriter err) throws IOException {
    Integer exit = null;
    // Read to the end, past the exit line, as ClientDispatch does: the daemon ends the stream right after it.
    BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
    for (String line = lines.readLine(); line != null; line = lines.readLine()) {
      if (line.isBlank()) {
        continue;
      }
      Object value;
      try {
        value = JsonText.parse(line);
      } catch (IllegalArgumentException e) {
        throw new IOException("bad answer from the daemon at " + socket + ": " + e.getMessage(), e);
      }
      if (!(value instanceof Map<?, ?> msg)) {
        continue;
      }
      if (msg.get("out") instanceof String text) {
        out.print(text);
        out.flush();
      } else if (msg.get("err") instanceof String text) {
        err.print(text);
        err.flush();
      } else if (msg.get("exit") instanceof Long code) {
        exit = code.intValue();
      }
      // progress and job lines: the commands taken here draw no bar and run as no job
    }
    if (exit != null) {
      return exit;
    }
    err.println("vstore: the daemon at " + socket + " ended the command's stream before its exit status");
    err.flush();
    return 1;
  }

  /** Reads one CRLF- (or LF-) terminated header line as ASCII. */
  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new EOFException("the daemon closed the connection inside the HTTP header");
      }
      if (b.length() >= MAX_HEADER_LINE) {
        throw new IOException("bad HTTP answer: a header line longer than " + MAX_HEADER_LINE + " bytes");
      }
      b.append((char) c);
    }
    int end = b.length();
    return end > 0 && b.charAt(end - 1) == '\r' ? b.substring(0, end - 1) : b.toString();
  }

  /** A body in HTTP/1.1 chunked transfer coding, decoded. */
  static final class Chunked extends InputStream {
    private final InputStream in;
    private long left;
    private boolean started;
    private boolean done;

    Chunked(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (left == 0 && !nextChunk()) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n < 0) {
        throw new EOFException("the daemon closed the connection inside a chunk");
      }
      left -= n;
      return n;
    }

    /** Moves to the next chunk; returns false at the last (empty) one. */
    private boolean nextChunk() throws IOException {
      if (done) {
        return false;
      }
      if (started && !line(in).isEmpty()) {
        throw new IOException("bad HTTP answer: no line end after a chunk");
      }
      started = true;
      String size = line(in);
      int ext = size.indexOf(';');
      try {
        left = Long.parseLong((ext < 0 ? size : size.substring(0, ext)).strip(), 16);
      } catch (NumberFormatException e) {
        throw new IOException("bad HTTP answer: chunk size '" + size + "'", e);
      }
      if (left < 0) {
        throw new IOException("bad HTTP answer: chunk size '" + size + "'");
      }
      if (left == 0) {
        done = true; // trailers, if any, are not read: the connection closes
        return false;
      }
      return true;
    }
  }

  /** A body of a known length. */
  static final class Bounded extends InputStream {
    private final InputStream in;
    private long left;

    Bounded(InputStream in, long length) {
      this.in = in;
      this.left = length;
    }

    @Override
    public int read() throws IOException {
      if (left == 0) {
        return -1;
      }
      int c = in.read();
      if (c < 0) {
        throw new EOFException("the daemon closed the connection before the end of its answer");
      }
      left--;
      return c;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left == 0) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n < 0) {
        throw new EOFException("the daemon closed the connection before the end of its answer");
      }
      left -= n;
      return n;
    }
  }
}
