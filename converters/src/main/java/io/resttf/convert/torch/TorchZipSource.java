package io.resttf.convert.torch;

import io.resttf.convert.pickle.PickleDataException;
import io.resttf.convert.pickle.PickleGlobal;
import io.resttf.convert.pickle.PickleGlobals;
import io.resttf.convert.pickle.PickleSource;
import io.resttf.convert.pickle.TorchDType;
import io.resttf.convert.pickle.TorchStorageRef;
import io.resttf.convert.pickle.TorchUnpickler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The zip format of torch >= 1.6: {@code <root>/data.pkl} (the pickle), {@code <root>/data/<key>} (one entry
 * per storage, raw little-endian bytes), {@code <root>/byteorder} (optional). The root folder name varies
 * ("archive", or the file's base name in older torch). Entries are STORED with data descriptors, which
 * {@link ZipFile} (central directory) reads and {@code ZipInputStream} cannot.
 * Storages are read with positional reads straight from the file at their data offsets (found in the central
 * directory and local headers, which {@link ZipFile} does not expose), so no bytes are copied through a zip
 * stream; a deflated entry, or an archive whose layout cannot be followed, is read through {@link ZipFile}.
 */
final class TorchZipSource extends TorchStorageSource {
  /** Largest plausible inflate ratio for a (non-torch) deflated entry; bounds allocation on forged sizes. */
  private static final long MAX_RATIO = 100;
  private static final int CHUNK = 1 << 20;

  private final TorchReadContext ctx;
  private final ZipFile zip;
  private final String root;
  /** The file, for reading STORED entries' data directly at their offsets; opened on the first storage read. */
  private FileChannel channel;
  /** Central directory entries by name, parsed on the first storage read; null when it could not be. */
  private Map<String, CentralEntry> central;
  private boolean centralParsed;
  /** Added to every offset the central directory gives (non-zero when the archive has prepended data). */
  private long base;

  private TorchZipSource(TorchReadContext ctx, ZipFile zip, String root, ByteOrder order) {
    super("torch zip (torch >= 1.6)");
    this.ctx = ctx;
    this.zip = zip;
    this.root = root;
    this.order = order;
  }

  /** Opens the archive and reads its pickle; the returned source must be closed. */
  static TorchZipSource open(TorchReadContext ctx, Object[] topOut) throws IOException {
    ZipFile zip;
    try {
      zip = new ZipFile(ctx.file.toFile());
    } catch (java.util.zip.ZipException e) {
      throw new PickleDataException("corrupt or truncated zip archive (" + e.getMessage() + ")");
    }
    try {
      String root = findRoot(zip);
      ByteOrder order = byteOrder(ctx, zip, root);
      TorchZipSource src = new TorchZipSource(ctx, zip, root, order);
      topOut[0] = src.readPickle();
      return src;
    } catch (IOException | RuntimeException | Error e) {
      zip.close();
      throw e;
    }
  }

  private static String findRoot(ZipFile zip) {
    String root = null;
    Enumeration<? extends ZipEntry> en = zip.entries();
    while (en.hasMoreElements()) {
      String name = en.nextElement().getName();
      int slash = name.indexOf('/');
      if (slash > 0 && name.length() == slash + 9 && name.endsWith("/data.pkl")) {
        String r = name.substring(0, slash);
        if (root != null && !root.equals(r)) {
          throw new PickleDataException("the zip holds several torch archives ('" + root + "' and '" + r + "')");
        }
        root = r;
      }
    }
    if (root == null) {
      throw new PickleDataException("zip archive without a <root>/data.pkl entry: not a torch.save file");
    }
    return root;
  }

  private static ByteOrder byteOrder(TorchReadContext ctx, ZipFile zip, String root) throws IOException {
    ZipEntry e = zip.getEntry(root + "/byteorder");
    if (e == null) {
      return ByteOrder.LITTLE_ENDIAN; // older torch: always little-endian
    }
    ctx.entry = e.getName();
    String s = new String(readEntry(ctx, zip, e, 16), StandardCharsets.US_ASCII).trim();
    switch (s) {
      case "little":
        return ByteOrder.LITTLE_ENDIAN;
      case "big":
        return ByteOrder.BIG_ENDIAN;
      default:
        throw new PickleDataException(e.getName(), "unknown byte order '" + s + "'");
    }
  }

  private Object readPickle() throws IOException {
    String name = root + "/data.pkl";
    ctx.entry = name;
    ZipEntry e = zip.getEntry(name);
    byte[] pkl = readEntry(ctx, zip, e, Integer.MAX_VALUE - 8);
    PickleSource in = new PickleSource(new java.io.ByteArrayInputStream(pkl), 0, pkl.length);
    return new TorchUnpickler(this::persistentLoad).read(in);
  }

  /** ('storage', storage_type, key, location, numel). */
  private Object persistentLoad(Object pid) {
    List<Object> t = PickleGlobals.asList(pid);
    if (t == null || t.size() != 5 || !"storage".equals(text(t.get(0)))) {
      throw new PickleDataException("persistent id is not a ('storage', type, key, location, numel) tuple");
    }
    TorchDType dtype = storageDType(t.get(1));
    Object k = t.get(2);
    if (!(k instanceof String) && !(k instanceof Number)) {
      throw new PickleDataException("storage key is a " + PickleGlobals.typeName(k));
    }
    String key = String.valueOf(k);
    long numel = PickleGlobals.toLong(t.get(4), "storage size");
    String entryName = root + "/data/" + key;
    TorchStorageRef known = roots.get(key);
    if (known != null) {
      if (known.dtype() != dtype || known.numel() != numel) {
        throw new PickleDataException(entryName, "storage is declared twice with different types or sizes");
      }
      return known;
    }
    ZipEntry e = zip.getEntry(entryName);
    if (e == null) {
      throw new PickleDataException(entryName, "storage entry is missing from the archive");
    }
    if (numel < 0) {
      throw new PickleDataException(entryName, "storage has a negative size " + numel);
    }
    checkPlausible(ctx, e);
    long need;
    try {
      need = Math.multiplyExact(numel, (long) dtype.itemSize);
    } catch (ArithmeticException ex) {
      need = Long.MAX_VALUE;
    }
    if (need > e.getSize()) {
      throw new PickleDataException(entryName, "storage needs " + (need == Long.MAX_VALUE ? "more than 2^63" : need)
          + " bytes (" + numel + " x " + dtype.label + ") but the entry has " + e.getSize());
    }
    TorchStorageRef ref = new TorchStorageRef(key, dtype, 0, numel, entryName);
    roots.put(key, ref);
    return ref;
  }

  static String text(Object o) {
    if (o instanceof String s) {
      return s;
    }
    if (o instanceof byte[] b) {
      return new String(b, StandardCharsets.ISO_8859_1);
    }
    return null;
  }

  static TorchDType storageDType(Object type) {
    TorchDType dt = type instanceof PickleGlobal g ? TorchDType.ofStorageGlobal(g) : null;
    if (dt == null) {
      throw new PickleDataException("unsupported storage type " + (type instanceof PickleGlobal g
          ? g.qualified() : PickleGlobals.typeName(type)));
    }
    return dt;
  }

  @Override
  void stream(String key, ByteBuffer buf, ChunkSink sink) throws IOException {
    TorchStorageRef ref = roots.get(key);
    ZipEntry e = zip.getEntry(ref.entry());
    checkPlausible(ctx, e);
    long bytes = ref.numel() * ref.dtype().itemSize;
    long data = dataStart(e);
    if (data >= 0) {
      // the fast path: positional reads straight into the (direct) buffer, no copy through the zip stream
      for (long done = 0; done < bytes; ) {
        buf.clear().limit((int) Math.min(buf.capacity(), bytes - done));
        long pos = data + done;
        while (buf.hasRemaining()) {
          int n = channel.read(buf, pos);
          if (n < 0) {
            throw new PickleDataException(e.getName(), "entry ends after " + (pos - data) + " of " + bytes + " bytes");
          }
          pos += n;
        }
        buf.flip();
        int n = buf.limit();
        sink.accept(buf, done);
        done += n;
      }
      return;
    }
    try (InputStream in = zip.getInputStream(e)) { // deflated, or an archive whose layout we did not follow
      byte[] scratch = new byte[(int) Math.min(buf.capacity(), Math.max(bytes, 1))];
      for (long done = 0; done < bytes; ) {
        int want = (int) Math.min(scratch.length, bytes - done);
        int off = 0;
        while (off < want) {
          int n = in.read(scratch, off, want - off);
          if (n < 0) {
            throw new PickleDataException(e.getName(), "entry ends after " + (done + off) + " of " + bytes + " bytes");
          }
          off += n;
        }
        buf.clear();
        buf.put(scratch, 0, want).flip();
        sink.accept(buf, done);
        done += want;
      }
    }
  }

  /** A central directory record: what the data-offset fast path needs. */
  private record CentralEntry(int method, long compressedSize, long size, long localOffset) {}

  /**
   * Where a STORED entry's data starts in the file, from the central directory and the entry's local header,
   * or -1 when the entry is deflated or anything about the layout is unexpected (then the entry is read
   * through {@link ZipFile}, which diagnoses real damage). {@link ZipFile} does not expose data offsets.
   */
  private long dataStart(ZipEntry e) throws IOException {
    if (e.getMethod() != ZipEntry.STORED) {
      return -1;
    }
    if (!centralParsed) {
      centralParsed = true;
      channel = FileChannel.open(ctx.file, StandardOpenOption.READ);
      try {
        central = parseCentral();
      } catch (IOException | RuntimeException ex) {
        central = null; // fall back to ZipFile for every entry
      }
    }
    CentralEntry c = central == null ? null : central.get(e.getName());
    if (c == null || c.method != ZipEntry.STORED || c.size != e.getSize() || c.compressedSize != e.getSize()) {
      return -1;
    }
    long loc = base + c.localOffset;
    if (loc < 0 || loc > ctx.fileSize - 30) {
      return -1;
    }
    ByteBuffer h = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
    if (!readAt(h, loc) || h.getInt(0) != 0x04034b50 || (h.getShort(8) & 0xffff) != ZipEntry.STORED) {
      return -1;
    }
    long data = loc + 30 + (h.getShort(26) & 0xffff) + (h.getShort(28) & 0xffff);
    return data + c.size <= ctx.fileSize ? data : -1;
  }

  /** Fills {@code buf} from {@code pos}; false at the end of the file. */
  private boolean readAt(ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int n = channel.read(buf, pos);
      if (n < 0) {
        return false;
      }
      pos += n;
    }
    return true;
  }

  /** The central directory by entry name (names seen twice are left out); null if it cannot be followed. */
  private Map<String, CentralEntry> parseCentral() throws IOException {
    long size = ctx.fileSize;
    int tailLen = (int) Math.min(size, 22 + 0xFFFF);
    ByteBuffer tail = ByteBuffer.allocate(tailLen).order(ByteOrder.LITTLE_ENDIAN);
    if (!readAt(tail, size - tailLen)) {
      return null;
    }
    int end = -1;
    for (int i = tailLen - 22; i >= 0; i--) { // the end record, its comment reaching exactly to the end
      if (tail.getInt(i) == 0x06054b50 && i + 22 + (tail.getShort(i + 20) & 0xffff) == tailLen) {
        end = i;
        break;
      }
    }
    if (end < 0) {
      return null;
    }
    long endPos = size - tailLen + end;
    long count = tail.getShort(end + 10) & 0xffff;
    long cenLen = tail.getInt(end + 12) & 0xffffffffL;
    long cenOff = tail.getInt(end + 16) & 0xffffffffL;
    if (count == 0xffff || cenLen == 0xffffffffL || cenOff == 0xffffffffL) { // zip64: locator, then its end record
      if (end < 20 || tail.getInt(end - 20) != 0x07064b50) {
        return null;
      }
      long z64 = tail.getLong(end - 12);
      ByteBuffer r = ByteBuffer.allocate(56).order(ByteOrder.LITTLE_ENDIAN);
      if (z64 < 0 || z64 > size - 56 || !readAt(r, z64) || r.getInt(0) != 0x06064b50) {
        return null;
      }
      count = r.getLong(32);
      cenLen = r.getLong(40);
      cenOff = r.getLong(48);
      endPos = z64;
    }
    base = endPos - cenLen - cenOff;
    if (cenLen < 0 || cenLen > endPos || cenOff < 0 || base < 0 || cenLen > Integer.MAX_VALUE - 8) {
      return null;
    }
    ByteBuffer cen = ByteBuffer.allocate((int) cenLen).order(ByteOrder.LITTLE_ENDIAN);
    if (!readAt(cen, base + cenOff)) {
      return null;
    }
    Map<String, CentralEntry> out = new HashMap<>();
    Set<String> twice = new HashSet<>();
    int p = 0;
    for (long i = 0; i < count; i++) {
      if (p > cenLen - 46 || cen.getInt(p) != 0x02014b50) {
        return null;
      }
      int method = cen.getShort(p + 10) & 0xffff;
      long csize = cen.getInt(p + 20) & 0xffffffffL;
      long usize = cen.getInt(p + 24) & 0xffffffffL;
      int nameLen = cen.getShort(p + 28) & 0xffff;
      int extraLen = cen.getShort(p + 30) & 0xffff;
      int commentLen = cen.getShort(p + 32) & 0xffff;
      long loc = cen.getInt(p + 42) & 0xffffffffL;
      if ((long) p + 46 + nameLen + extraLen + commentLen > cenLen) {
        return null;
      }
      byte[] nameBytes = new byte[nameLen];
      cen.get(p + 46, nameBytes);
      int x = p + 46 + nameLen;
      int xEnd = x + extraLen;
      while (x + 4 <= xEnd) { // the zip64 extra field holds the 64-bit values of the fields saturated above
        int id = cen.getShort(x) & 0xffff;
        int len = cen.getShort(x + 2) & 0xffff;
        if (x + 4 + len > xEnd) {
          return null;
        }
        if (id == 1) {
          int q = x + 4;
          if (usize == 0xffffffffL && q + 8 <= x + 4 + len) {
            usize = cen.getLong(q);
            q += 8;
          }
          if (csize == 0xffffffffL && q + 8 <= x + 4 + len) {
            csize = cen.getLong(q);
            q += 8;
          }
          if (loc == 0xffffffffL && q + 8 <= x + 4 + len) {
            loc = cen.getLong(q);
          }
        }
        x += 4 + len;
      }
      String name = new String(nameBytes, (cen.getShort(p + 8) & 0x800) != 0 ? StandardCharsets.UTF_8
          : StandardCharsets.ISO_8859_1);
      if (out.put(name, new CentralEntry(method, csize, usize, loc)) != null) {
        twice.add(name);
      }
      p += 46 + nameLen + extraLen + commentLen;
    }
    twice.forEach(out::remove);
    return out;
  }

  /** Reads a whole small entry (data.pkl, byteorder), at most {@code max} bytes. */
  private static byte[] readEntry(TorchReadContext ctx, ZipFile zip, ZipEntry e, long max) throws IOException {
    checkPlausible(ctx, e);
    long size = e.getSize();
    if (size < 0 || size > max) {
      throw new PickleDataException(e.getName(), "entry size " + size + " is out of range");
    }
    byte[] out = new byte[(int) size];
    readFully(e, zip.getInputStream(e), out);
    return out;
  }

  /** A forged central directory must not make us allocate more than the file could hold. */
  private static void checkPlausible(TorchReadContext ctx, ZipEntry e) {
    long size = e.getSize();
    long csize = e.getCompressedSize();
    if (csize < 0 || csize > ctx.fileSize) {
      throw new PickleDataException(e.getName(), "entry claims " + csize + " stored bytes but the file has "
          + ctx.fileSize);
    }
    long limit = e.getMethod() == ZipEntry.STORED ? csize : csize * MAX_RATIO + 4096;
    if (size < 0 || size > limit) {
      throw new PickleDataException(e.getName(), "entry claims " + size + " bytes, implausible for "
          + csize + " stored bytes");
    }
  }

  private static void readFully(ZipEntry e, InputStream in, byte[] dest) throws IOException {
    try (in) {
      int off = 0;
      while (off < dest.length) {
        int n = in.read(dest, off, Math.min(CHUNK, dest.length - off));
        if (n < 0) {
          throw new PickleDataException(e.getName(), "entry ends after " + off + " of " + dest.length + " bytes");
        }
        off += n;
      }
    }
  }

  @Override
  public void close() throws IOException {
    try (FileChannel ch = channel) {
      zip.close();
    }
  }
}
