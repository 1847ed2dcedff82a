package io.resttf.convert.tensorfile;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.util.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Strict reader and writer for the <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping tensor names to
 * {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the first byte after the
 * header), an optional {@code "__metadata__"} string map, then the raw little-endian tensor data.
 *
 * <p>The reader checks every size against the real file size before it allocates anything, and, like the
 * reference implementation, requires the tensors to tile the data area exactly (no overlap, no gap, no
 * trailing bytes). Every malformed file gives a {@link BadInputException} with a one-line message
 * {@code "<path>: <reason>"}; an I/O failure gives {@code "<path>: cannot read: <reason>"}.
 *
 * <p>Tensors are returned in order of increasing data offset (ties, i.e. empty tensors, in header order),
 * which is the order the writer laid them out in. F16 and BF16 are widened exactly to float32 and keep
 * their source dtype in {@link HostTensor#dtype()}; F64 stays double; integer and BOOL dtypes become longs.
 */
public final class Safetensors {
  /** The reference implementation's limit on the JSON header size. */
  static final long MAX_HEADER_BYTES = 100_000_000L;

  /** Staging buffer size for bulk reads and writes (a multiple of every item size). */
  private static final int CHUNK_BYTES = 8 << 20;

  /** Java arrays cannot be longer than this (VM header slack). */
  private static final long MAX_ARRAY_ELEMENTS = Integer.MAX_VALUE - 8L;

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private static final float[] HALF_TO_FLOAT = new float[1 << 16];

  static {
    for (int h = 0; h < HALF_TO_FLOAT.length; h++) {
      HALF_TO_FLOAT[h] = halfToFloat((short) h);
    }
  }

  /** Element types this reader knows: safetensors name, bytes per element. */
  enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    final int size;

    DType(int size) {
      this.size = size;
    }

    static DType parse(String name) {
      for (DType d : values()) {
        if (d.name().equals(name)) {
          return d;
        }
      }
      return null;
    }
  }

  private Safetensors() {}

  /** One validated header entry. */
  private record Entry(String name, DType dtype, long[] shape, long numel, long begin, long end, int order) {}

  /** The parsed, validated header. */
  private record Header(long dataStart, long dataSize, List<Entry> entries, Map<String, String> metadata) {}

  /**
   * Reads every tensor of a safetensors file.
   *
   * @return tensors by name, in order of increasing data offset
   * @throws BadInputException if the file cannot be read or is malformed in any way
   */
  public static LinkedHashMap<String, HostTensor> read(Path file) {
    try (FileChannel ch = openForRead(file)) {
      Header header = readHeader(file, ch);
      LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
      ByteBuffer staging = null;
      for (Entry e : header.entries()) {
        if (staging == null && e.numel() > 0) {
          staging = ByteBuffer.allocateDirect((int) Math.min(CHUNK_BYTES, header.dataSize()));
        }
        out.put(
            e.name(),
            readData(
                file, ch, header.dataStart() + e.begin(), e.dtype(), ByteOrder.LITTLE_ENDIAN, e.shape(),
                e.numel(), staging, "tensor " + quote(e.name())));
      }
      return out;
    } catch (IOException ex) {
      throw cannotRead(file, ex);
    }
  }

  /**
   * The file's {@code "__metadata__"} map, or an empty map when it has none. The whole header is validated
   * as by {@link #read}, but no tensor data is loaded.
   */
  public static Map<String, String> metadata(Path file) {
    try (FileChannel ch = openForRead(file)) {
      return readHeader(file, ch).metadata();
    } catch (IOException ex) {
      throw cannotRead(file, ex);
    }
  }

  /**
   * Writes tensors as a safetensors file, in the map's iteration order: float32 data as F32, tensors whose
   * dtype is "F64" as F64, integer tensors as I64 (whatever their source integer dtype). The JSON header is
   * padded with spaces to a multiple of 8 bytes, as the reference implementation does. The file is written
   * to a temporary file in the same directory and then atomically renamed over {@code file}.
   *
   * @param metadata written as {@code "__metadata__"}; may be null or empty (then omitted)
   * @throws IllegalArgumentException for a tensor named {@code "__metadata__"}
   * @throws BadInputException if the file cannot be written
   */
  public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata) {
    ObjectNode root = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = root.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    List<HostTensor> order = new ArrayList<>(tensors.size());
    List<String> kinds = new ArrayList<>(tensors.size());
    long offset = 0;
    for (Map.Entry<String, HostTensor> en : tensors.entrySet()) {
      String name = en.getKey();
      HostTensor t = en.getValue();
      if ("__metadata__".equals(name)) {
        throw new IllegalArgumentException("a tensor cannot be named __metadata__");
      }
      String kind = outputDtype(t);
      long bytes = Math.multiplyExact(t.size(), kind.equals("F32") ? 4L : 8L);
      ObjectNode info = root.putObject(name);
      info.put("dtype", kind);
      ArrayNode shape = info.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      info.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
      order.add(t);
      kinds.add(kind);
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException("cannot serialise safetensors header", ex);
    }
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(json);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    head.flip();
    writeFile(
        file,
        ch -> {
          writeFully(ch, head);
          ByteBuffer staging = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
          for (int i = 0; i < order.size(); i++) {
            writeData(ch, order.get(i), kinds.get(i), staging);
          }
        });
  }

  /** The dtype {@link #write} and {@link Npy#write} use for a tensor: "F32", "F64" or "I64". */
  static String outputDtype(HostTensor t) {
    if (!t.isFloating()) {
      return "I64";
    }
    return "F64".equals(t.dtype()) ? "F64" : "F32";
  }

  /**
   * Converts IEEE 754 half precision bits to float32, exactly (every half value is a float value):
   * normals, subnormals, signed zeros, infinities, and NaNs with their payload.
   */
  public static float halfToFloat(short half) {
    int h = half & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0) {
      // zero or subnormal: mant * 2^-24, exact in float32
      float v = Math.scalb((float) mant, -24);
      return sign != 0 ? -v : v;
    }
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }

  /** Converts bfloat16 bits (the upper half of a float32) to float32, exactly. */
  public static float bf16ToFloat(short bf16) {
    return Float.intBitsToFloat((bf16 & 0xffff) << 16);
  }

  // ---------------------------------------------------------------------------------------- header

  private static Header readHeader(Path file, FileChannel ch) throws IOException {
    long size = ch.size();
    if (size < 8) {
      throw bad(file, "file is " + size + " bytes, shorter than the 8-byte header length");
    }
    ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(file, ch, lenBuf, 0);
    long n = lenBuf.getLong(0);
    if (Long.compareUnsigned(n, size - 8) > 0) {
      throw bad(file, "header length " + Long.toUnsignedString(n) + " exceeds file size " + size);
    }
    if (n > MAX_HEADER_BYTES) {
      throw bad(file, "header length " + n + " exceeds the " + MAX_HEADER_BYTES + "-byte limit");
    }
    ByteBuffer raw = ByteBuffer.allocate((int) n);
    readFully(file, ch, raw, 8);
    raw.flip();
    String text;
    try {
      CharBuffer chars =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(raw);
      text = chars.toString();
    } catch (CharacterCodingException ex) {
      throw bad(file, "header is not valid UTF-8");
    }
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JsonProcessingException ex) {
      throw bad(file, "header is not valid JSON: " + jsonReason(ex));
    }
    if (root == null || !root.isObject()) {
      throw bad(file, "header is not a JSON object");
    }
    long dataStart = 8 + n;
    long dataSize = size - dataStart;
    Map<String, String> metadata = Collections.emptyMap();
    List<Entry> entries = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (field.getKey().equals("__metadata__")) {
        metadata = parseMetadata(file, field.getValue());
      } else {
        entries.add(parseEntry(file, field.getKey(), field.getValue(), dataSize, entries.size()));
      }
    }
    entries.sort(Comparator.comparingLong(Entry::begin).thenComparingInt(Entry::order));
    long expectedBegin = 0;
    Entry prev = null;
    for (Entry e : entries) {
      if (e.begin() < expectedBegin) {
        throw bad(
            file,
            "tensor " + quote(e.name()) + " data_offsets " + offsets(e) + " overlap tensor "
                + quote(prev.name()) + " " + offsets(prev));
      }
      if (e.begin() > expectedBegin) {
        throw bad(
            file,
            "gap of " + (e.begin() - expectedBegin) + " bytes in the data before tensor " + quote(e.name())
                + " " + offsets(e));
      }
      expectedBegin = e.end();
      prev = e;
    }
    if (expectedBegin != dataSize) {
      throw bad(
          file,
          "data area is " + dataSize + " bytes but the tensors cover only " + expectedBegin
              + " (" + (dataSize - expectedBegin) + " trailing bytes)");
    }
    return new Header(dataStart, dataSize, entries, metadata);
  }

  private static Map<String, String> parseMetadata(Path file, JsonNode node) {
    if (!node.isObject()) {
      throw bad(file, "__metadata__ is not a JSON object");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      if (!f.getValue().isTextual()) {
        throw bad(file, "__metadata__ value for " + quote(f.getKey()) + " is not a string");
      }
      out.put(f.getKey(), f.getValue().textValue());
    }
    return Collections.unmodifiableMap(out);
  }

  private static Entry parseEntry(Path file, String name, JsonNode node, long dataSize, int order) {
    String what = "tensor " + quote(name);
    if (!node.isObject()) {
      throw bad(file, what + ": entry is not a JSON object");
    }
    JsonNode dtypeNode = node.get("dtype");
    if (dtypeNode == null) {
      throw bad(file, what + ": missing dtype");
    }
    if (!dtypeNode.isTextual()) {
      throw bad(file, what + ": dtype is not a string");
    }
    DType dtype = DType.parse(dtypeNode.textValue());
    if (dtype == null) {
      throw bad(
          file,
          what + ": unsupported dtype " + quote(dtypeNode.textValue()) + " (supported: "
              + Arrays.toString(DType.values()) + ")");
    }
    JsonNode shapeNode = node.get("shape");
    if (shapeNode == null) {
      throw bad(file, what + ": missing shape");
    }
    if (!shapeNode.isArray()) {
      throw bad(file, what + ": shape is not a JSON array");
    }
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong()) {
        throw bad(file, what + ": shape dimension " + oneLine(d.toString()) + " is not a 64-bit integer");
      }
      shape[i] = d.longValue();
      if (shape[i] < 0) {
        // the shape as the file gives it (the array is only filled up to here)
        throw bad(file, what + ": negative dimension in shape " + oneLine(shapeNode.toString()).replace(",", ", "));
      }
    }
    long numel = 1;
    long nbytes;
    try {
      for (long d : shape) {
        numel = Math.multiplyExact(numel, d);
      }
      nbytes = Math.multiplyExact(numel, dtype.size);
    } catch (ArithmeticException ex) {
      throw bad(file, what + ": element count of shape " + Arrays.toString(shape) + " overflows 64 bits");
    }
    JsonNode offs = node.get("data_offsets");
    if (offs == null) {
      throw bad(file, what + ": missing data_offsets");
    }
    if (!offs.isArray() || offs.size() != 2) {
      throw bad(file, what + ": data_offsets is not a [begin, end] array");
    }
    for (JsonNode o : offs) {
      if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
        throw bad(
            file, what + ": data_offsets value " + oneLine(o.toString()) + " is not a non-negative 64-bit integer");
      }
    }
    long begin = offs.get(0).longValue();
    long end = offs.get(1).longValue();
    String range = "[" + begin + ", " + end + "]";
    if (end < begin) {
      throw bad(file, what + ": data_offsets " + range + " end before begin");
    }
    if (end > dataSize) {
      throw bad(file, what + ": data_offsets " + range + " end beyond the data size " + dataSize);
    }
    if (end - begin != nbytes) {
      throw bad(
          file,
          what + ": data_offsets " + range + " span " + (end - begin) + " bytes but " + dtype + " shape "
              + Arrays.toString(shape) + " needs " + nbytes);
    }
    if (numel > MAX_ARRAY_ELEMENTS) {
      throw bad(file, what + ": " + numel + " elements are too many for one Java array");
    }
    return new Entry(name, dtype, shape, numel, begin, end, order);
  }

  private static String offsets(Entry e) {
    return "[" + e.begin() + ", " + e.end() + "]";
  }

  // ------------------------------------------------------------------------------------------ data

  /**
   * Reads {@code numel} elements of {@code dtype} starting at byte {@code pos} into a new HostTensor. The
   * caller has checked that the bytes exist in the file and that {@code numel} fits a Java array.
   *
   * @param staging a direct buffer used for chunked reads, or null to allocate one
   */
  static HostTensor readData(
      Path file, FileChannel ch, long pos, DType dtype, ByteOrder byteOrder, long[] shape, long numel,
      ByteBuffer staging, String what) throws IOException {
    int n = (int) numel;
    if (staging == null) {
      staging = ByteBuffer.allocateDirect((int) Math.max(8, Math.min(CHUNK_BYTES, numel * dtype.size)));
    }
    int perChunk = staging.capacity() / dtype.size;
    float[] floats = null;
    double[] doubles = null;
    long[] longs = null;
    short[] shorts = null;
    switch (dtype) {
      case F32, F16, BF16 -> floats = new float[n];
      case F64 -> doubles = new double[n];
      default -> longs = new long[n];
    }
    if (dtype == DType.F16 || dtype == DType.BF16) {
      shorts = new short[Math.min(n, perChunk)];
    }
    int done = 0;
    while (done < n) {
      int count = Math.min(perChunk, n - done);
      staging.clear().limit(count * dtype.size);
      readFully(file, ch, staging, pos + (long) done * dtype.size);
      staging.flip();
      ByteBuffer b = staging.order(byteOrder);
      switch (dtype) {
        case F32 -> b.asFloatBuffer().get(floats, done, count);
        case F64 -> b.asDoubleBuffer().get(doubles, done, count);
        case I64 -> b.asLongBuffer().get(longs, done, count);
        case F16 -> {
          b.asShortBuffer().get(shorts, 0, count);
          for (int i = 0; i < count; i++) floats[done + i] = HALF_TO_FLOAT[shorts[i] & 0xffff];
        }
        case BF16 -> {
          b.asShortBuffer().get(shorts, 0, count);
          for (int i = 0; i < count; i++) floats[done + i] = Float.intBitsToFloat((shorts[i] & 0xffff) << 16);
        }
        case I32 -> {
          for (int i = 0; i < count; i++) longs[done + i] = b.getInt(i * 4);
        }
        case I16 -> {
          for (int i = 0; i < count; i++) longs[done + i] = b.getShort(i * 2);
        }
        case I8 -> {
          for (int i = 0; i < count; i++) longs[done + i] = b.get(i);
        }
        case U8 -> {
          for (int i = 0; i < count; i++) longs[done + i] = b.get(i) & 0xff;
        }
        case BOOL -> {
          for (int i = 0; i < count; i++) {
            int v = b.get(i) & 0xff;
            if (v > 1) {
              throw bad(file, what + ": BOOL element " + (done + i) + " has byte value " + v + ", not 0 or 1");
            }
            longs[done + i] = v;
          }
        }
      }
      done += count;
    }
    return switch (dtype) {
      case F32, F16, BF16 -> HostTensor.ofFloats(dtype.name(), shape, floats);
      case F64 -> HostTensor.ofDoubles(shape, doubles);
      default -> HostTensor.ofLongs(dtype.name(), shape, longs);
    };
  }

  /** Writes a tensor's data little-endian as "F32", "F64" or "I64" (see {@link #outputDtype}). */
  static void writeData(FileChannel ch, HostTensor t, String kind, ByteBuffer staging) throws IOException {
    staging.order(ByteOrder.LITTLE_ENDIAN);
    switch (kind) {
      case "F32" -> {
        float[] a = t.toFloats();
        for (int done = 0; done < a.length; ) {
          int count = Math.min(staging.capacity() / 4, a.length - done);
          staging.clear();
          staging.asFloatBuffer().put(a, done, count);
          staging.limit(count * 4);
          writeFully(ch, staging);
          done += count;
        }
      }
      case "F64" -> {
        double[] a = t.toDoubles();
        for (int done = 0; done < a.length; ) {
          int count = Math.min(staging.capacity() / 8, a.length - done);
          staging.clear();
          staging.asDoubleBuffer().put(a, done, count);
          staging.limit(count * 8);
          writeFully(ch, staging);
          done += count;
        }
      }
      case "I64" -> {
        long[] a = t.toLongs();
        for (int done = 0; done < a.length; ) {
          int count = Math.min(staging.capacity() / 8, a.length - done);
          staging.clear();
          staging.asLongBuffer().put(a, done, count);
          staging.limit(count * 8);
          writeFully(ch, staging);
          done += count;
        }
      }
      default -> throw new IllegalArgumentException("unknown output dtype " + kind);
    }
  }

  // ------------------------------------------------------------------------------------ file plumbing

  static FileChannel openForRead(Path file) throws IOException {
    if (Files.isDirectory(file)) {
      throw bad(file, "cannot read: is a directory");
    }
    return FileChannel.open(file, StandardOpenOption.READ);
  }

  /** Fills {@code buf} from absolute position {@code pos}; a short file is a malformed file. */
  static void readFully(Path file, FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int r = ch.read(buf, pos);
      if (r < 0) {
        throw bad(file, "unexpected end of file at byte " + pos + " (was the file truncated while reading?)");
      }
      pos += r;
    }
  }

  static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }

  /**
   * Writes a file atomically (see {@link AtomicFiles#write}); a failure is a one-line error naming the
   * file, and leaves any old file intact.
   */
  static void writeFile(Path file, AtomicFiles.ChannelWriter body) {
    try {
      AtomicFiles.write(file, body);
    } catch (IOException ex) {
      throw new BadInputException(oneLine(file + ": cannot write: " + AtomicFiles.reason(ex)), ex);
    }
  }

  // ------------------------------------------------------------------------------------------ errors

  static BadInputException bad(Path file, String reason) {
    return new BadInputException(oneLine(file + ": " + reason));
  }

  static BadInputException cannotRead(Path file, IOException ex) {
    return new BadInputException(oneLine(file + ": cannot read: " + AtomicFiles.reason(ex)), ex);
  }

  /** A name in single quotes with control characters escaped and long names shortened. */
  static String quote(String s) {
    StringBuilder b = new StringBuilder("'");
    int limit = Math.min(s.length(), 200);
    for (int i = 0; i < limit; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || c == '\u0085') {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    if (limit < s.length()) {
      b.append("...");
    }
    return b.append('\'').toString();
  }

  /** Collapses line breaks so that a message stays on one line. */
  static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("[\\r\\n\\u0085\\u2028\\u2029]+", " ");
  }

  /**
   * Jackson's reason without its location: some of its messages embed one ("start marker at [Source:
   * REDACTED ...; line: 1, column: 1]"), which names no file and says nothing to a user.
   */
  static String jsonReason(JsonProcessingException ex) {
    String m = ex.getOriginalMessage() == null ? "malformed JSON" : ex.getOriginalMessage();
    m = m.replaceAll("\\s*\\((?:start marker )?at \\[Source:[^\\]]*\\]\\)", "")
        .replaceAll("\\s*at \\[Source:[^\\]]*\\]", "");
    return oneLine(m).strip();
  }
}
