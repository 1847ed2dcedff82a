package io.resttf.convert.torch;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.util.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * Writes a state_dict as a {@code torch.save} file in the zip format of torch >= 1.6, loadable with
 * {@code torch.load(file)} (also with {@code weights_only=True} and {@code mmap=True}) and by
 * {@link TorchCheckpoint#read}: fine-tuned weights handed back to PyTorch, or large synthetic checkpoints.
 *
 * <p>The layout is torch's: STORED (uncompressed) entries {@code archive/data.pkl}, {@code archive/byteorder}
 * ("little"), one {@code archive/data/<key>} per tensor (raw little-endian bytes, each entry's data aligned to
 * 64 bytes in the file with an "FB" padding extra field, as torch does) and {@code archive/version} ("3\n").
 * data.pkl is pickle protocol 2, as {@code torch.save} writes it: a {@code collections.OrderedDict} of
 * key → {@code torch._utils._rebuild_tensor_v2(('storage', torch.FloatStorage, '<key>', 'cpu', numel), 0,
 * size, stride, False, OrderedDict())}, contiguous strides, one storage per tensor. Keys are written in the
 * map's iteration order; storage keys are "0", "1", ... in that order.
 *
 * <p>Types: tensors whose {@link HostTensor#dtype()} is "F64" are written as float64 (torch.DoubleStorage),
 * other floating tensors as float32 (torch.FloatStorage; F16 / BF16 sources were widened exactly when read),
 * integer tensors as int64 (torch.LongStorage), whatever their source integer or bool type.
 *
 * <p>Tensor data is streamed to the file through a small buffer, never copied whole; the file is written to a
 * temporary sibling and atomically renamed over {@code file}, so readers never see a half-written file. Files
 * or entries past 4 GiB get zip64 records.
 */
public final class TorchCheckpointWriter {
  /** The archive's root folder, as torch >= 1.6 names it. */
  public static final String ROOT = "archive";
  /** Data of every entry starts at a multiple of this many bytes (torch's kFieldAlignment). */
  static final int ALIGNMENT = 64;

  private static final int CHUNK = 1 << 20;
  private static final long MAX_32 = 0xFFFFFFFFL;
  private static final int LOC_SIG = 0x04034b50;
  private static final int CEN_SIG = 0x02014b50;
  private static final int END_SIG = 0x06054b50;
  private static final int ZIP64_END_SIG = 0x06064b50;
  private static final int ZIP64_LOCATOR_SIG = 0x07064b50;

  private TorchCheckpointWriter() {}

  /**
   * Writes {@code stateDict} (official keys and PyTorch layouts) to {@code file}.
   *
   * @throws IllegalArgumentException for a tensor of more than 2^31 - 9 elements (cannot be a HostTensor)
   * @throws BadInputException if the file cannot be written (one line naming it)
   */
  public static void write(Path file, Map<String, HostTensor> stateDict) {
    write(file, stateDict, false);
  }

  /** As {@link #write(Path, Map)}; {@code forceZip64} writes zip64 records for every entry (for tests). */
  static void write(Path file, Map<String, HostTensor> stateDict, boolean forceZip64) {
    List<String> keys = new ArrayList<>(stateDict.size());
    List<HostTensor> tensors = new ArrayList<>(stateDict.size());
    for (Map.Entry<String, HostTensor> e : stateDict.entrySet()) {
      keys.add(e.getKey());
      tensors.add(e.getValue());
    }
    byte[] pickle = pickle(keys, tensors);
    // torch.save writes the storages sorted by key as strings: 0, 1, 10, 100, ..., 11, ...
    TreeMap<String, HostTensor> storages = new TreeMap<>();
    for (int i = 0; i < tensors.size(); i++) {
      storages.put(Integer.toString(i), tensors.get(i));
    }
    try {
      AtomicFiles.write(file, ch -> {
        ZipWriter z = new ZipWriter(ch, forceZip64);
        z.entry(ROOT + "/data.pkl", pickle);
        z.entry(ROOT + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        for (Map.Entry<String, HostTensor> s : storages.entrySet()) {
          z.entry(ROOT + "/data/" + s.getKey(), s.getValue());
        }
        z.entry(ROOT + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        z.finish();
      });
    } catch (IOException ex) {
      throw new BadInputException(TorchCheckpoint.oneLine(file + ": cannot write: " + AtomicFiles.reason(ex)), ex);
    }
  }

  /** The storage kind a tensor is written as. */
  private enum Kind {
    F32("FloatStorage", 4),
    F64("DoubleStorage", 8),
    I64("LongStorage", 8);

    final String storage;
    final int itemSize;

    Kind(String storage, int itemSize) {
      this.storage = storage;
      this.itemSize = itemSize;
    }

    static Kind of(HostTensor t) {
      if (!t.isFloating()) {
        return I64;
      }
      return "F64".equals(t.dtype()) ? F64 : F32;
    }
  }

  // ------------------------------------------------------------------------------------------------ pickle

  /** data.pkl: protocol 2, as Python's pickler writes torch.save's object (memo for globals and constants). */
  static byte[] pickle(List<String> keys, List<HostTensor> tensors) {
    Pickler p = new Pickler();
    p.proto(2);
    p.orderedDict();
    int n = keys.size();
    for (int start = 0; start < n; start += 1000) { // Python batches SETITEMS by 1000
      int end = Math.min(n, start + 1000);
      if (end - start > 1) {
        p.op('(');
      }
      for (int i = start; i < end; i++) {
        p.str(keys.get(i));
        tensor(p, Integer.toString(i), tensors.get(i));
      }
      p.op(end - start > 1 ? 'u' : 's');
    }
    p.op('.');
    return p.bytes();
  }

  private static void tensor(Pickler p, String storageKey, HostTensor t) {
    long[] shape = t.shape();
    long[] stride = contiguousStrides(shape);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    // persistent id: ('storage', torch.FloatStorage, '<key>', 'cpu', numel), then BINPERSID
    p.op('(');
    p.memoStr("storage");
    p.global("torch", Kind.of(t).storage);
    p.str(storageKey);
    p.memoStr("cpu");
    p.integer(t.size());
    p.op('t');
    p.op('Q');
    p.integer(0); // storage_offset
    p.tuple(shape);
    p.tuple(stride);
    p.op(0x89); // requires_grad False
    p.orderedDict(); // backward hooks
    p.op('t');
    p.op('R');
  }

  /** torch's contiguous strides: each the product of the later sizes, a size 0 counted as 1. */
  static long[] contiguousStrides(long[] shape) {
    long[] s = new long[shape.length];
    long acc = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      s[i] = acc;
      acc *= Math.max(shape[i], 1);
    }
    return s;
  }

  /** Just the opcodes torch.save's pickle uses. */
  private static final class Pickler {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 16);
    private final Map<String, Integer> memo = new HashMap<>();

    void op(int opcode) {
      out.write(opcode);
    }

    void proto(int v) {
      op(0x80);
      op(v);
    }

    void le(long v, int width) {
      for (int i = 0; i < width; i++) {
        out.write((int) (v >>> (8 * i)));
      }
    }

    /** BINUNICODE. */
    void str(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      op('X');
      le(b.length, 4);
      out.writeBytes(b);
    }

    /** GLOBAL, memoised: the second use is a BINGET / LONG_BINGET. */
    void global(String module, String name) {
      if (!memoGet("G" + module + "\n" + name)) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        memoPut("G" + module + "\n" + name);
      }
    }

    /** A string written once and then fetched from the memo. */
    void memoStr(String s) {
      if (!memoGet("S" + s)) {
        str(s);
        memoPut("S" + s);
      }
    }

    private boolean memoGet(String key) {
      Integer i = memo.get(key);
      if (i == null) {
        return false;
      }
      if (i < 256) {
        op('h');
        op(i);
      } else {
        op('j');
        le(i, 4);
      }
      return true;
    }

    private void memoPut(String key) {
      int i = memo.size();
      memo.put(key, i);
      if (i < 256) {
        op('q');
        op(i);
      } else {
        op('r');
        le(i, 4);
      }
    }

    /** As Python's protocol-2 pickler: BININT1 / BININT2 / BININT, else LONG1 (minimal two's complement). */
    void integer(long v) {
      if (v >= 0 && v <= 0xff) {
        op('K');
        op((int) v);
      } else if (v >= 0 && v <= 0xffff) {
        op('M');
        le(v, 2);
      } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
        op('J');
        le(v, 4);
      } else {
        int n = 1;
        while (n < 8 && (v >> (8 * n - 1)) != 0 && (v >> (8 * n - 1)) != -1) {
          n++;
        }
        op(0x8a);
        op(n);
        le(v, n);
      }
    }

    /** EMPTY_TUPLE, TUPLE1..3 or MARK ... TUPLE, as protocol 2 writes tuples of ints. */
    void tuple(long[] v) {
      if (v.length == 0) {
        op(')');
        return;
      }
      if (v.length > 3) {
        op('(');
      }
      for (long x : v) {
        integer(x);
      }
      op(v.length == 1 ? 0x85 : v.length == 2 ? 0x86 : v.length == 3 ? 0x87 : 't');
    }

    /** collections.OrderedDict() via REDUCE with an empty tuple. */
    void orderedDict() {
      global("collections", "OrderedDict");
      op(')');
      op('R');
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }

  // --------------------------------------------------------------------------------------------------- zip

  /**
   * A minimal zip writer for STORED entries of known size: local header (CRC patched in place once the data
   * is written, so data streams in one pass and needs no data descriptor), 64-byte aligned data, central
   * directory, zip64 records where sizes or offsets need them.
   */
  private static final class ZipWriter {
    private final FileChannel ch;
    private final boolean forceZip64;
    private final ByteBuffer staging = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
    private final List<Entry> entries = new ArrayList<>();
    private long pos;

    private record Entry(byte[] name, long offset, long size, int crc) {}

    ZipWriter(FileChannel ch, boolean forceZip64) throws IOException {
      this.ch = ch;
      this.forceZip64 = forceZip64;
      this.pos = ch.position();
    }

    void entry(String name, byte[] data) throws IOException {
      long offset = begin(name, data.length);
      CRC32 crc = new CRC32();
      crc.update(data);
      write(ByteBuffer.wrap(data));
      end(name, offset, data.length, (int) crc.getValue());
    }

    void entry(String name, HostTensor t) throws IOException {
      Kind kind = Kind.of(t);
      long size = Math.multiplyExact(t.size(), (long) kind.itemSize);
      long offset = begin(name, size);
      CRC32 crc = new CRC32();
      switch (kind) {
        case F32: {
          float[] a = t.toFloats();
          for (int done = 0; done < a.length; ) {
            int count = Math.min(CHUNK / 4, a.length - done);
            staging.clear();
            staging.asFloatBuffer().put(a, done, count);
            done += count;
            flushStaging(count * 4, crc);
          }
          break;
        }
        case F64: {
          double[] a = t.toDoubles();
          for (int done = 0; done < a.length; ) {
            int count = Math.min(CHUNK / 8, a.length - done);
            staging.clear();
            staging.asDoubleBuffer().put(a, done, count);
            done += count;
            flushStaging(count * 8, crc);
          }
          break;
        }
        default: {
          long[] a = t.toLongs();
          for (int done = 0; done < a.length; ) {
            int count = Math.min(CHUNK / 8, a.length - done);
            staging.clear();
            staging.asLongBuffer().put(a, done, count);
            done += count;
            flushStaging(count * 8, crc);
          }
        }
      }
      end(name, offset, size, (int) crc.getValue());
    }

    private void flushStaging(int bytes, CRC32 crc) throws IOException {
      staging.position(0).limit(bytes);
      crc.update(staging);
      staging.position(0);
      write(staging);
    }

    private boolean zip64Size(long size) {
      return forceZip64 || size >= MAX_32;
    }

    private boolean zip64Offset(long offset) {
      return forceZip64 || offset >= MAX_32;
    }

    /** Writes the local header (CRC 0 for now); returns its offset. */
    private long begin(String name, long size) throws IOException {
      byte[] n = name.getBytes(StandardCharsets.UTF_8);
      long offset = pos;
      boolean z64 = zip64Size(size);
      int zip64Len = z64 ? 20 : 0;
      // torch's getPadding: data starts after the header, the name, any zip64 field and the 4-byte FB field
      long start = offset + 30 + n.length + zip64Len + 4;
      int padding = (int) ((ALIGNMENT - start % ALIGNMENT) % ALIGNMENT);
      ByteBuffer h = ByteBuffer.allocate(30 + n.length + zip64Len + 4 + padding).order(ByteOrder.LITTLE_ENDIAN);
      h.putInt(LOC_SIG);
      h.putShort((short) (z64 ? 45 : 20)); // version needed
      h.putShort((short) 0); // flags (names are ASCII)
      h.putShort((short) 0); // STORED
      h.putShort((short) 0).putShort((short) 0); // time, date: none, as torch writes
      h.putInt(0); // CRC, patched by end()
      h.putInt(z64 ? (int) MAX_32 : (int) size); // compressed size
      h.putInt(z64 ? (int) MAX_32 : (int) size); // size
      h.putShort((short) n.length);
      h.putShort((short) (zip64Len + 4 + padding));
      h.put(n);
      if (z64) {
        h.putShort((short) 1).putShort((short) 16).putLong(size).putLong(size);
      }
      h.put((byte) 'F').put((byte) 'B').putShort((short) padding);
      for (int i = 0; i < padding; i++) {
        h.put((byte) 'Z');
      }
      h.flip();
      write(h);
      return offset;
    }

    private void end(String name, long offset, long size, int crc) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(crc);
      b.flip();
      while (b.hasRemaining()) {
        ch.write(b, offset + 14 + b.position());
      }
      entries.add(new Entry(name.getBytes(StandardCharsets.UTF_8), offset, size, crc));
    }

    void finish() throws IOException {
      long cdStart = pos;
      for (Entry e : entries) {
        boolean bigSize = zip64Size(e.size);
        boolean bigOffset = zip64Offset(e.offset);
        int zip64Len = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
        ByteBuffer h = ByteBuffer.allocate(46 + e.name.length + zip64Len).order(ByteOrder.LITTLE_ENDIAN);
        short version = (short) (zip64Len > 0 ? 45 : 20);
        h.putInt(CEN_SIG);
        h.putShort(version); // made by (MS-DOS attributes)
        h.putShort(version); // needed
        h.putShort((short) 0); // flags
        h.putShort((short) 0); // STORED
        h.putShort((short) 0).putShort((short) 0); // time, date
        h.putInt(e.crc);
        h.putInt(bigSize ? (int) MAX_32 : (int) e.size);
        h.putInt(bigSize ? (int) MAX_32 : (int) e.size);
        h.putShort((short) e.name.length);
        h.putShort((short) zip64Len);
        h.putShort((short) 0); // comment
        h.putShort((short) 0); // disk
        h.putShort((short) 0); // internal attributes
        h.putInt(0); // external attributes
        h.putInt(bigOffset ? (int) MAX_32 : (int) e.offset);
        h.put(e.name);
        if (zip64Len > 0) {
          h.putShort((short) 1).putShort((short) (zip64Len - 4));
          if (bigSize) {
            h.putLong(e.size).putLong(e.size);
          }
          if (bigOffset) {
            h.putLong(e.offset);
          }
        }
        h.flip();
        write(h);
      }
      long cdSize = pos - cdStart;
      int count = entries.size();
      boolean z64 = forceZip64 || count >= 0xFFFF || cdSize >= MAX_32 || cdStart >= MAX_32;
      ByteBuffer h = ByteBuffer.allocate(56 + 20 + 22).order(ByteOrder.LITTLE_ENDIAN);
      if (z64) {
        long recordStart = pos;
        h.putInt(ZIP64_END_SIG).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
            .putLong(count).putLong(count).putLong(cdSize).putLong(cdStart);
        h.putInt(ZIP64_LOCATOR_SIG).putInt(0).putLong(recordStart).putInt(1);
      }
      h.putInt(END_SIG).putShort((short) 0).putShort((short) 0);
      h.putShort((short) (z64 ? 0xFFFF : count)).putShort((short) (z64 ? 0xFFFF : count));
      h.putInt(z64 ? (int) MAX_32 : (int) cdSize).putInt(z64 ? (int) MAX_32 : (int) cdStart);
      h.putShort((short) 0); // comment
      h.flip();
      write(h);
    }

    private void write(ByteBuffer b) throws IOException {
      while (b.hasRemaining()) {
        pos += ch.write(b);
      }
    }
  }
}
