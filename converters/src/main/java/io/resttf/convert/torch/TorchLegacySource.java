package io.resttf.convert.torch;

import io.resttf.convert.pickle.PickleDataException;
import io.resttf.convert.pickle.PickleGlobals;
import io.resttf.convert.pickle.PickleSource;
import io.resttf.convert.pickle.TorchDType;
import io.resttf.convert.pickle.TorchStorageRef;
import io.resttf.convert.pickle.TorchUnpickler;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The legacy (torch < 1.6) format: five pickles back to back (magic number, protocol version 1001, sys_info,
 * the object, the list of storage keys), then for each listed storage an 8-byte element count and the raw
 * data. Persistent ids are ('storage', type, root_key, location, size, view_metadata), where view_metadata
 * (view_key, offset, view_size) names a slice of a root storage; ('module', cls, ...) names a class.
 */
final class TorchLegacySource extends TorchStorageSource {
  static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
  private final TorchReadContext ctx;
  private final FileChannel ch;
  private final Map<String, TorchStorageRef> views = new HashMap<>();
  private final Map<String, Long> dataOffsets = new HashMap<>();

  private TorchLegacySource(TorchReadContext ctx, FileChannel ch) {
    super("torch legacy (torch < 1.6)");
    this.ctx = ctx;
    this.ch = ch;
  }

  /** Reads the pickles and locates every storage's data; the returned source must be closed. */
  static TorchLegacySource open(TorchReadContext ctx, Object[] topOut) throws IOException {
    FileChannel ch = FileChannel.open(ctx.file, StandardOpenOption.READ);
    try {
      TorchLegacySource src = new TorchLegacySource(ctx, ch);
      topOut[0] = src.parse();
      return src;
    } catch (IOException | RuntimeException | Error e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Whether a file starting with {@code head} can be a legacy torch file: its first pickle (the magic number)
   * starts with PROTO (protocol 2+), LONG1 (protocol 1) or a text LONG (protocol 0).
   */
  static boolean looksLegacy(byte[] head) {
    if (head.length < 2) {
      return false;
    }
    int b0 = head[0] & 0xff;
    return (b0 == 0x80 && head[1] >= 0 && head[1] <= 5) || (b0 == 0x8a && head[1] == 10)
        || (b0 == 'L' && head[1] >= '0' && head[1] <= '9');
  }

  private Object parse() throws IOException {
    ByteBuffer head = ByteBuffer.allocate(2);
    readAt(head, 0);
    if (!looksLegacy(head.array())) {
      throw new PickleDataException("not a torch.save file (neither a zip archive nor a legacy torch pickle)");
    }
    PickleSource in = new PickleSource(new BufferedInputStream(Channels.newInputStream(ch.position(0)), 1 << 16),
        0, ctx.fileSize);
    ctx.entry = "magic number (offset 0)";
    Object magic = new TorchUnpickler(null).read(in);
    if (!(magic instanceof BigInteger b) || !b.equals(MAGIC)) {
      throw new PickleDataException("not a torch.save file (neither a zip archive nor the legacy magic number)");
    }
    ctx.entry = "protocol version (offset " + in.position() + ")";
    Object proto = new TorchUnpickler(null).read(in);
    if (!(proto instanceof Number n) || n.longValue() != 1001) {
      throw new PickleDataException("unsupported legacy protocol version");
    }
    ctx.entry = "sys_info (offset " + in.position() + ")";
    Object sysInfo = new TorchUnpickler(null).read(in);
    if (sysInfo instanceof Map<?, ?> m && Boolean.FALSE.equals(m.get("little_endian"))) {
      order = ByteOrder.BIG_ENDIAN;
    }
    ctx.entry = "object pickle (offset " + in.position() + ")";
    Object top = new TorchUnpickler(this::persistentLoad).read(in);
    ctx.entry = "storage key list (offset " + in.position() + ")";
    Object keysObj = new TorchUnpickler(null).read(in);
    List<Object> keys = PickleGlobals.asList(keysObj);
    if (keys == null) {
      throw new PickleDataException("storage key list is a " + PickleGlobals.typeName(keysObj));
    }
    locateStorages(keys, in.position());
    return top;
  }

  private void locateStorages(List<Object> keys, long pos) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(8).order(order);
    for (Object k : keys) {
      String key = String.valueOf(k);
      String where = "storage " + key + " (offset " + pos + ")";
      ctx.entry = where;
      TorchStorageRef root = roots.get(key);
      if (root == null || dataOffsets.containsKey(key)) {
        throw new PickleDataException(where, "storage key list names a storage the pickle did not declare (once)");
      }
      if (ctx.fileSize - pos < 8) {
        throw new PickleDataException(where, "file ends before the storage header (truncated)");
      }
      header.clear();
      readAt(header, pos);
      long numel = header.flip().getLong();
      if (numel != root.numel()) {
        throw new PickleDataException(where, "storage header says " + numel + " elements but the pickle declared "
            + root.numel());
      }
      long bytes = root.numel() * root.dtype().itemSize; // bounded by the file size when declared
      if (bytes > ctx.fileSize - pos - 8) {
        throw new PickleDataException(where, "storage needs " + bytes + " bytes but only " + (ctx.fileSize - pos - 8)
            + " remain in the file (truncated)");
      }
      dataOffsets.put(key, pos + 8);
      pos += 8 + bytes;
    }
    for (String key : roots.keySet()) {
      if (!dataOffsets.containsKey(key)) {
        throw new PickleDataException("storage " + key, "storage has no data in the file (not in the key list)");
      }
    }
  }

  /** ('storage', type, root_key, location, size, view_metadata) or ('module', cls, ...). */
  private Object persistentLoad(Object pid) {
    List<Object> t = PickleGlobals.asList(pid);
    String typename = t == null || t.isEmpty() ? null : TorchZipSource.text(t.get(0));
    if ("module".equals(typename) && t.size() >= 2) {
      return t.get(1);
    }
    if (!"storage".equals(typename) || t.size() != 6) {
      throw new PickleDataException("persistent id is not a ('storage', type, key, location, size, view) tuple");
    }
    TorchDType dtype = TorchZipSource.storageDType(t.get(1));
    String key = String.valueOf(t.get(2));
    String where = "storage " + key;
    long numel = PickleGlobals.toLong(t.get(4), "storage size");
    TorchStorageRef root = roots.get(key);
    if (root == null) {
      if (numel < 0 || numel > ctx.fileSize / dtype.itemSize) {
        throw new PickleDataException(where, "storage claims " + numel + " elements of " + dtype.label
            + " but the file has only " + ctx.fileSize + " bytes");
      }
      root = new TorchStorageRef(key, dtype, 0, numel, where);
      roots.put(key, root);
    } else if (root.dtype() != dtype || root.numel() != numel) {
      throw new PickleDataException(where, "storage is declared twice with different types or sizes");
    }
    Object view = t.get(5);
    if (view == null) {
      return root;
    }
    List<Object> v = PickleGlobals.asList(view);
    if (v == null || v.size() != 3) {
      throw new PickleDataException(where, "storage view metadata is not a (key, offset, size) tuple");
    }
    String viewKey = String.valueOf(v.get(0));
    long offset = PickleGlobals.toLong(v.get(1), "storage view offset");
    long size = PickleGlobals.toLong(v.get(2), "storage view size");
    if (offset < 0 || size < 0 || offset > root.numel() || size > root.numel() - offset) {
      throw new PickleDataException(where, "storage view (offset " + offset + ", size " + size
          + ") does not fit in the storage of " + root.numel() + " elements");
    }
    TorchStorageRef known = views.get(viewKey);
    if (known != null) {
      return known;
    }
    TorchStorageRef ref = new TorchStorageRef(key, dtype, offset, size, where);
    views.put(viewKey, ref);
    return ref;
  }

  private void readAt(ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) {
        throw new PickleDataException(ctx.entry, "file ends early (truncated)");
      }
      pos += n;
    }
  }

  @Override
  void stream(String key, ByteBuffer buf, ChunkSink sink) throws IOException {
    TorchStorageRef root = roots.get(key);
    long pos = dataOffsets.get(key);
    long bytes = root.numel() * root.dtype().itemSize;
    for (long done = 0; done < bytes; ) {
      buf.clear().limit((int) Math.min(buf.capacity(), bytes - done));
      readAt(buf, pos + done);
      buf.flip();
      int n = buf.limit();
      sink.accept(buf, done);
      done += n;
    }
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }
}
