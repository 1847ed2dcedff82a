package io.resttf.convert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The zip format of torch >= 1.6: {@code <root>/data.pkl} (the pickle), {@code <root>/data/<key>} (one entry
 * per storage, raw little-endian bytes), {@code <root>/byteorder} (optional). The root folder name varies
 * ("archive", or the file's base name in older torch). Entries are STORED with data descriptors, which
 * {@link ZipFile} (central directory) reads and {@code ZipInputStream} cannot.
 */
final class TorchZipSource implements TorchStorageSource {
  /** Largest plausible inflate ratio for a (non-torch) deflated entry; bounds allocation on forged sizes. */
  private static final long MAX_RATIO = 100;
  private static final int CHUNK = 1 << 20;

  private final TorchReadContext ctx;
  private final ZipFile zip;
  private final String root;
  private final ByteOrder order;
  private final Map<String, TorchStorageRef> roots = new HashMap<>();

  private TorchZipSource(TorchReadContext ctx, ZipFile zip, String root, ByteOrder order) {
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
  public String format() {
    return "torch zip (torch >= 1.6)";
  }

  @Override
  public ByteOrder order() {
    return order;
  }

  @Override
  public TorchStorageRef root(String key) {
    return roots.get(key);
  }

  @Override
  public void read(String key, byte[] dest, LongConsumer chunkRead) throws IOException {
    TorchStorageRef ref = roots.get(key);
    ZipEntry e = zip.getEntry(ref.entry());
    checkPlausible(ctx, e);
    readFully(e, zip.getInputStream(e), dest, chunkRead);
  }

  /** Reads a whole small entry (data.pkl, byteorder), at most {@code max} bytes. */
  private static byte[] readEntry(TorchReadContext ctx, ZipFile zip, ZipEntry e, long max) throws IOException {
    checkPlausible(ctx, e);
    long size = e.getSize();
    if (size < 0 || size > max) {
      throw new PickleDataException(e.getName(), "entry size " + size + " is out of range");
    }
    byte[] out = new byte[(int) size];
    readFully(e, zip.getInputStream(e), out, n -> { });
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

  private static void readFully(ZipEntry e, InputStream in, byte[] dest, LongConsumer chunkRead)
      throws IOException {
    try (in) {
      int off = 0;
      while (off < dest.length) {
        int n = in.read(dest, off, Math.min(CHUNK, dest.length - off));
        if (n < 0) {
          throw new PickleDataException(e.getName(), "entry ends after " + off + " of " + dest.length + " bytes");
        }
        off += n;
        chunkRead.accept(n);
      }
    }
  }

  @Override
  public void close() throws IOException {
    zip.close();
  }
}
