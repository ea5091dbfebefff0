package io.vstore.nbd;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * The server side of fixed newstyle negotiation, from the greeting to the start of transmission
 * (or the client's abort). Malformed input throws {@link NbdProtocolException}: the connection is
 * dropped, as proto.md allows for a violation of a mandatory condition.
 */
final class Handshake {
  /** Largest option payload read; larger ones are skipped and refused with NBD_REP_ERR_TOO_BIG. */
  static final int MAX_OPTION_LENGTH = 64 * 1024;
  /** Most metadata contexts one SET_META_CONTEXT may select. */
  private static final int MAX_SELECTED_CONTEXTS = 256;

  /** What negotiation agreed on, for the transmission phase. */
  record Agreement(Transport transport, Export export, boolean structured, List<SelectedContext> contexts) {}

  /** A metadata context selected with SET_META_CONTEXT and the id the client knows it by. */
  record SelectedContext(int id, MetaContextSource source) {}

  private final ExportRegistry registry;
  private final SSLContext tls;
  private final boolean requireTls;
  private Transport transport;
  private boolean structured;
  private Export metaExport;
  private List<SelectedContext> selected = List.of();
  private boolean noZeroes;

  Handshake(Transport transport, ExportRegistry registry, SSLContext tls, boolean requireTls) {
    this.transport = transport;
    this.registry = registry;
    this.tls = tls;
    this.requireTls = requireTls && tls != null;
  }

  /** Runs negotiation; returns the agreement, or empty when the client aborted. */
  Optional<Agreement> run() throws IOException {
    ByteBuffer greeting = ByteBuffer.allocate(18);
    greeting.putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT).putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip();
    transport.write(greeting);
    int clientFlags = read(4).getInt();
    if ((clientFlags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
      throw new NbdProtocolException("bad client flags 0x" + Integer.toHexString(clientFlags));
    }
    noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
    while (true) {
      ByteBuffer head = read(16);
      long magic = head.getLong();
      if (magic != Nbd.IHAVEOPT) {
        throw new NbdProtocolException("bad option magic 0x" + Long.toHexString(magic));
      }
      int option = head.getInt();
      long length = Integer.toUnsignedLong(head.getInt());
      if (length > MAX_OPTION_LENGTH) {
        skip(length);
        if (option == Nbd.OPT_EXPORT_NAME) {
          throw new NbdProtocolException("export name of " + length + " bytes");
        }
        reply(option, Nbd.REP_ERR_TOO_BIG, "option data of " + length + " bytes is larger than " + MAX_OPTION_LENGTH);
        continue;
      }
      ByteBuffer data = read((int) length);
      if (requireTls && !transport.isTls() && option != Nbd.OPT_STARTTLS && option != Nbd.OPT_ABORT) {
        if (option == Nbd.OPT_EXPORT_NAME) {
          throw new NbdProtocolException("NBD_OPT_EXPORT_NAME before STARTTLS on a server that requires TLS");
        }
        reply(option, Nbd.REP_ERR_TLS_REQD, "this server requires TLS: use STARTTLS first");
        continue;
      }
      try {
        Optional<Agreement> done = option(option, data);
        if (done != null) {
          return done;
        }
      } catch (BufferUnderflowException | CharacterCodingException e) {
        if (option == Nbd.OPT_EXPORT_NAME) {
          throw new NbdProtocolException("malformed export name");
        }
        reply(option, Nbd.REP_ERR_INVALID, "malformed option data");
      }
    }
  }

  /** Handles one option; returns null to keep negotiating. */
  private Optional<Agreement> option(int option, ByteBuffer data) throws IOException {
    switch (option) {
      case Nbd.OPT_EXPORT_NAME -> {
        String name = string(data, data.remaining());
        Export export = registry.find(name).orElseThrow(() -> new NbdProtocolException("no export '" + name + "'"));
        ByteBuffer b = ByteBuffer.allocate(8 + 2 + (noZeroes ? 0 : 124));
        b.putLong(export.device().size()).putShort((short) transmissionFlags(export));
        b.position(b.limit()).flip();
        transport.write(b);
        return Optional.of(agreement(export));
      }
      case Nbd.OPT_ABORT -> {
        try {
          ack(option);
        } catch (IOException e) {
          // The client may close without waiting for the acknowledgement; proto.md allows both.
        }
        return Optional.empty();
      }
      case Nbd.OPT_LIST -> {
        if (data.hasRemaining()) {
          reply(option, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
          return null;
        }
        for (Export e : registry.list()) {
          byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
          byte[] description = e.description().getBytes(StandardCharsets.UTF_8);
          ByteBuffer b = ByteBuffer.allocate(4 + name.length + description.length);
          b.putInt(name.length).put(name).put(description).flip();
          reply(option, Nbd.REP_SERVER, b);
        }
        ack(option);
        return null;
      }
      case Nbd.OPT_STARTTLS -> {
        if (data.hasRemaining()) {
          reply(option, Nbd.REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data");
        } else if (tls == null) {
          reply(option, Nbd.REP_ERR_POLICY, "TLS is not configured on this server");
        } else if (transport.isTls()) {
          reply(option, Nbd.REP_ERR_INVALID, "TLS is already running");
        } else {
          ack(option);
          transport = transport.startTls(tls);
          // proto.md: nothing negotiated before STARTTLS survives it.
          structured = false;
          metaExport = null;
          selected = List.of();
        }
        return null;
      }
      case Nbd.OPT_INFO, Nbd.OPT_GO -> {
        return infoOrGo(option, data);
      }
      case Nbd.OPT_STRUCTURED_REPLY -> {
        if (data.hasRemaining()) {
          reply(option, Nbd.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
        } else if (structured) {
          reply(option, Nbd.REP_ERR_INVALID, "structured replies are already on");
        } else {
          structured = true;
          ack(option);
        }
        return null;
      }
      case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> {
        metaContext(option, data);
        return null;
      }
      default -> {
        reply(option, Nbd.REP_ERR_UNSUP, "option " + option + " is not supported");
        return null;
      }
    }
  }

  private Optional<Agreement> infoOrGo(int option, ByteBuffer data) throws IOException {
    long nameLength = Integer.toUnsignedLong(data.getInt());
    if (nameLength > data.remaining() - 2) {
      reply(option, Nbd.REP_ERR_INVALID, "export name length " + nameLength + " exceeds the option data");
      return null;
    }
    String name = string(data, (int) nameLength);
    int requests = Short.toUnsignedInt(data.getShort());
    if (data.remaining() != 2 * requests) {
      reply(option, Nbd.REP_ERR_INVALID, requests + " information requests do not match the option length");
      return null;
    }
    boolean wantName = false;
    boolean wantDescription = false;
    for (int i = 0; i < requests; i++) {
      int info = Short.toUnsignedInt(data.getShort());
      wantName |= info == Nbd.INFO_NAME;
      wantDescription |= info == Nbd.INFO_DESCRIPTION;
    }
    Optional<Export> found = registry.find(name);
    if (found.isEmpty()) {
      reply(option, Nbd.REP_ERR_UNKNOWN, "no export '" + name + "'");
      return null;
    }
    Export export = found.get();
    ByteBuffer info = ByteBuffer.allocate(12);
    info.putShort((short) Nbd.INFO_EXPORT).putLong(export.device().size()).putShort((short) transmissionFlags(export)).flip();
    reply(option, Nbd.REP_INFO, info);
    ByteBuffer sizes = ByteBuffer.allocate(14);
    sizes.putShort((short) Nbd.INFO_BLOCK_SIZE).putInt(Nbd.MIN_BLOCK).putInt(Nbd.PREFERRED_BLOCK).putInt(Nbd.MAX_PAYLOAD).flip();
    reply(option, Nbd.REP_INFO, sizes);
    if (wantName) {
      reply(option, Nbd.REP_INFO, infoString(Nbd.INFO_NAME, export.name()));
    }
    if (wantDescription && !export.description().isEmpty()) {
      reply(option, Nbd.REP_INFO, infoString(Nbd.INFO_DESCRIPTION, export.description()));
    }
    ack(option);
    return option == Nbd.OPT_GO ? Optional.of(agreement(export)) : null;
  }

  private void metaContext(int option, ByteBuffer data) throws IOException {
    boolean set = option == Nbd.OPT_SET_META_CONTEXT;
    if (set) {
      // proto.md: SET replaces the previous selection even when it fails.
      selected = List.of();
      metaExport = null;
    }
    if (!structured) {
      reply(option, Nbd.REP_ERR_INVALID, "negotiate structured replies first");
      return;
    }
    long nameLength = Integer.toUnsignedLong(data.getInt());
    if (nameLength > data.remaining() - 4) {
      reply(option, Nbd.REP_ERR_INVALID, "export name length " + nameLength + " exceeds the option data");
      return;
    }
    String name = string(data, (int) nameLength);
    long count = Integer.toUnsignedLong(data.getInt());
    List<String> queries = new ArrayList<>();
    for (long i = 0; i < count; i++) {
      long length = Integer.toUnsignedLong(data.getInt());
      if (length > data.remaining() || length > Nbd.MAX_STRING) {
        reply(option, Nbd.REP_ERR_INVALID, "query length " + length + " exceeds the option data");
        return;
      }
      queries.add(string(data, (int) length));
    }
    if (data.hasRemaining()) {
      reply(option, Nbd.REP_ERR_INVALID, data.remaining() + " bytes after the last query");
      return;
    }
    Optional<Export> found = registry.find(name);
    if (found.isEmpty()) {
      reply(option, Nbd.REP_ERR_UNKNOWN, "no export '" + name + "'");
      return;
    }
    Map<String, MetaContextSource> available = found.get().allContexts();
    Map<String, MetaContextSource> matched = new LinkedHashMap<>();
    if (!set && queries.isEmpty()) {
      matched.putAll(available);
    }
    for (String q : queries) {
      for (var e : available.entrySet()) {
        if (set ? e.getKey().equals(q) : matchesListQuery(e.getKey(), q)) {
          matched.put(e.getKey(), e.getValue());
        }
      }
    }
    if (set && matched.size() > MAX_SELECTED_CONTEXTS) {
      reply(option, Nbd.REP_ERR_TOO_BIG, "at most " + MAX_SELECTED_CONTEXTS + " metadata contexts");
      return;
    }
    List<SelectedContext> chosen = new ArrayList<>();
    int id = 0;
    for (var e : matched.entrySet()) {
      id++;
      byte[] n = e.getKey().getBytes(StandardCharsets.UTF_8);
      ByteBuffer b = ByteBuffer.allocate(4 + n.length);
      b.putInt(set ? id : 0).put(n).flip();
      reply(option, Nbd.REP_META_CONTEXT, b);
      chosen.add(new SelectedContext(id, e.getValue()));
    }
    ack(option);
    if (set) {
      selected = List.copyOf(chosen);
      metaExport = found.get();
    }
  }

  /**
   * Returns whether {@code context} answers a LIST query: an exact name, a namespace ({@code base:},
   * {@code qemu:}) or QEMU's {@code qemu:dirty-bitmap:} for every bitmap.
   */
  static boolean matchesListQuery(String context, String query) {
    if (context.equals(query)) {
      return true;
    }
    boolean wildcard = query.equals("base:") || query.equals("qemu:") || query.equals(MetaContexts.DIRTY_BITMAP_PREFIX);
    return wildcard && context.startsWith(query);
  }

  private Agreement agreement(Export export) {
    // Contexts chosen for another export do not apply (proto.md: same export name, same session).
    List<SelectedContext> contexts = export == metaExport ? selected : List.of();
    return new Agreement(transport, export, structured, contexts);
  }

  private int transmissionFlags(Export export) {
    int flags = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_CAN_MULTI_CONN | Nbd.FLAG_SEND_CACHE;
    if (export.writable()) {
      flags |= Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FAST_ZERO;
    } else {
      flags |= Nbd.FLAG_READ_ONLY;
    }
    if (structured) {
      flags |= Nbd.FLAG_SEND_DF;
    }
    return flags;
  }

  private static ByteBuffer infoString(int type, String value) {
    byte[] b = value.getBytes(StandardCharsets.UTF_8);
    ByteBuffer out = ByteBuffer.allocate(2 + b.length);
    out.putShort((short) type).put(b).flip();
    return out;
  }

  private void ack(int option) throws IOException {
    reply(option, Nbd.REP_ACK, (ByteBuffer) null);
  }

  private void reply(int option, int type, String message) throws IOException {
    reply(option, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
  }

  private void reply(int option, int type, ByteBuffer data) throws IOException {
    int length = data == null ? 0 : data.remaining();
    ByteBuffer head = ByteBuffer.allocate(20);
    head.putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(length).flip();
    if (data == null) {
      transport.write(head);
    } else {
      transport.write(head, data);
    }
  }

  private ByteBuffer read(int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    transport.readFully(b);
    return b.flip();
  }

  private void skip(long n) throws IOException {
    ByteBuffer scratch = ByteBuffer.allocate(64 * 1024);
    while (n > 0) {
      scratch.clear().limit((int) Math.min(n, scratch.capacity()));
      transport.readFully(scratch);
      n -= scratch.limit();
    }
  }

  /** Reads a UTF-8 string of {@code length} bytes; rejects overlong and non-UTF-8 strings. */
  private static String string(ByteBuffer data, int length) throws CharacterCodingException {
    if (length > Nbd.MAX_STRING) {
      throw new CharacterCodingException();
    }
    if (length > data.remaining()) {
      throw new BufferUnderflowException();
    }
    ByteBuffer slice = data.slice(data.position(), length);
    data.position(data.position() + length);
    return StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(slice)
        .toString();
  }
}
