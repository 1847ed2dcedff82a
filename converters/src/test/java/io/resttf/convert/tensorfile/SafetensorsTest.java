package io.resttf.convert.tensorfile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
  @TempDir Path tmp;

  /** The shared reference fixtures (surefire sets fixtures.dir; the default works from converters/). */
  static Path fixtures() {
    Path dir = Path.of(System.getProperty("fixtures.dir", "../../shared/fixtures"));
    assertTrue(
        Files.isDirectory(dir.resolve("parity")),
        "reference fixtures not found at " + dir.toAbsolutePath() + " (set -Dfixtures.dir)");
    return dir;
  }

  // ------------------------------------------------------------------------------- real fixtures

  @Test
  void readsOfficialF32Checkpoint() {
    Map<String, HostTensor> m =
        Safetensors.read(fixtures().resolve("parity/restv2_tiny-narrow/weights.safetensors"));
    assertEquals(274, m.size());
    List<String> names = new ArrayList<>(m.keySet());
    assertEquals("stem.proj.0.weight", names.get(0));
    assertEquals("stem.proj.1.weight", names.get(1));
    assertEquals("head.bias", names.get(names.size() - 1));

    HostTensor w = m.get("stem.proj.0.weight");
    assertEquals("F32", w.dtype());
    assertArrayEquals(new long[] {6, 3, 3, 3}, w.shape());
    assertBits(new int[] {0x3c8f0746, 0xbab12290, 0x3be42f03}, w.toFloats());

    HostTensor nbt = m.get("stem.proj.1.num_batches_tracked");
    assertEquals("I64", nbt.dtype());
    assertEquals(0, nbt.rank());
    assertArrayEquals(new long[] {0}, nbt.toLongs());

    float[] headBias = m.get("head.bias").toFloats();
    assertEquals(10, headBias.length);
    assertEquals(0.07593711465597153f, headBias[9]);
    assertEquals(918276883L, floatCrc(m));
    assertTrue(Safetensors.metadata(fixtures().resolve("parity/restv2_tiny-narrow/weights.safetensors")).isEmpty());
  }

  @Test
  void readsBf16CheckpointExactly() {
    Map<String, HostTensor> m =
        Safetensors.read(fixtures().resolve("parity/restv2_base-narrow/weights.safetensors"));
    assertEquals(534, m.size());
    HostTensor w = m.get("stem.proj.0.weight");
    assertEquals("BF16", w.dtype());
    assertArrayEquals(new long[] {6, 3, 3, 3}, w.shape());
    // numpy: (uint16 << 16).view(float32)
    assertBits(new int[] {0x3ce50000, 0x3c460000, 0xbc060000}, w.toFloats());
    assertEquals(0.0279541015625f, w.toFloats()[0]);
    assertEquals(-0.06298828125f, last(m.get("head.bias").toFloats()));
    assertEquals("I64", m.get("stem.proj.1.num_batches_tracked").dtype());
    assertEquals(3555071465L, floatCrc(m));
  }

  @Test
  void readsF16CheckpointExactlyIncludingSubnormals() {
    Map<String, HostTensor> m =
        Safetensors.read(fixtures().resolve("parity/rest_small-narrow/weights.safetensors"));
    assertEquals(274, m.size());
    HostTensor w = m.get("stem.conv1.weight");
    assertEquals("F16", w.dtype());
    assertArrayEquals(new long[] {4, 3, 3, 3}, w.shape());
    assertBits(new int[] {0x3c81c000, 0x3c97a000, 0xbd498000}, w.toFloats());
    // values numpy's float16 -> float32 gives for half subnormals in this file
    assertEquals(-4.750490188598633e-05f, w.toFloats()[7]);
    assertEquals(5.0067901611328125e-06f, m.get("stem.conv2.weight").toFloats()[134]);
    assertEquals(-0.00728607177734375f, last(m.get("head.bias").toFloats()));
    // CRC32 of all float tensors as little-endian float32, computed with numpy
    assertEquals(2722332221L, floatCrc(m));
  }

  @Test
  void halfToFloatMatchesNumpyForEveryValue() {
    ByteBuffer all = ByteBuffer.allocate(65536 * 4).order(ByteOrder.LITTLE_ENDIAN);
    int nonNan = 0;
    for (int h = 0; h < 65536; h++) {
      float f = Safetensors.halfToFloat((short) h);
      boolean nanBits = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
      assertEquals(nanBits, Float.isNaN(f), "half 0x" + Integer.toHexString(h));
      if (!nanBits) {
        all.putFloat(f);
        nonNan++;
      }
    }
    assertEquals(63490, nonNan);
    CRC32 crc = new CRC32();
    crc.update(all.array(), 0, nonNan * 4);
    // numpy: np.arange(65536).astype('<u2').view(np.float16).astype(np.float32), NaNs dropped
    assertEquals(1487021387L, crc.getValue());

    assertEquals(1.0f, Safetensors.halfToFloat((short) 0x3c00));
    assertEquals(65504.0f, Safetensors.halfToFloat((short) 0x7bff));
    assertEquals(0x1p-24f, Safetensors.halfToFloat((short) 0x0001));
    assertEquals(1023 * 0x1p-24f, Safetensors.halfToFloat((short) 0x03ff));
    assertEquals(0x80000000, Float.floatToRawIntBits(Safetensors.halfToFloat((short) 0x8000)));
    assertEquals(Float.NEGATIVE_INFINITY, Safetensors.halfToFloat((short) 0xfc00));
    assertEquals(Float.POSITIVE_INFINITY, Safetensors.halfToFloat((short) 0x7c00));
    assertEquals(0x7fc00000, Float.floatToRawIntBits(Safetensors.halfToFloat((short) 0x7e00)));
    assertEquals(-2.0f, Safetensors.bf16ToFloat((short) 0xc000));
  }

  // ---------------------------------------------------------------------------------- round trip

  @Test
  void roundTripKeepsValuesOrderAndMetadata() throws IOException {
    Map<String, HostTensor> in = new LinkedHashMap<>();
    float[] f = {1.5f, -0.0f, Float.NaN, Float.POSITIVE_INFINITY, Float.MIN_VALUE, -3e38f};
    in.put("z.weight", HostTensor.ofFloats(new long[] {2, 3}, f));
    in.put("a.double", HostTensor.ofDoubles(new long[] {3}, new double[] {Math.PI, -1e300, 0x1p-1074}));
    in.put("m.count", HostTensor.ofLongs("I64", new long[] {}, new long[] {Long.MIN_VALUE}));
    in.put("empty", HostTensor.ofFloats(new long[] {0, 4}, new float[0]));
    in.put("from_f16", HostTensor.ofFloats("F16", new long[] {1}, new float[] {0.5f}));
    in.put("from_i32", HostTensor.ofLongs("I32", new long[] {2}, new long[] {7, -7}));
    Path file = tmp.resolve("rt.safetensors");
    Map<String, String> meta = Map.of("format", "pt", "note", "é ünïcode");
    Safetensors.write(file, in, meta);

    LinkedHashMap<String, HostTensor> out = Safetensors.read(file);
    assertEquals(new ArrayList<>(in.keySet()), new ArrayList<>(out.keySet()));
    assertBits(floatBits(f), out.get("z.weight").toFloats());
    assertEquals("F32", out.get("z.weight").dtype());
    assertArrayEquals(new long[] {2, 3}, out.get("z.weight").shape());
    assertEquals("F64", out.get("a.double").dtype());
    assertArrayEquals(new double[] {Math.PI, -1e300, 0x1p-1074}, out.get("a.double").toDoubles());
    assertArrayEquals(new long[] {Long.MIN_VALUE}, out.get("m.count").toLongs());
    assertEquals(0, out.get("m.count").rank());
    assertArrayEquals(new long[] {0, 4}, out.get("empty").shape());
    assertEquals("F32", out.get("from_f16").dtype());
    assertEquals("I64", out.get("from_i32").dtype());
    assertArrayEquals(new long[] {7, -7}, out.get("from_i32").toLongs());
    assertEquals(meta, Safetensors.metadata(file));

    byte[] bytes = Files.readAllBytes(file);
    long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    assertEquals(0, n % 8, "header length is a multiple of 8");
    String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
    assertTrue(header.startsWith("{\"__metadata__\":"), header);
    assertTrue(header.stripTrailing().endsWith("}"));
    try (Stream<Path> files = Files.list(tmp)) {
      assertEquals(List.of(file), files.toList(), "no temporary files left behind");
    }
  }

  @Test
  void writeReplacesAnExistingFileAndAcceptsNullMetadata() throws IOException {
    Path file = tmp.resolve("w.safetensors");
    Files.writeString(file, "old content");
    Safetensors.write(file, Map.of("x", HostTensor.ofFloats(new long[] {1}, new float[] {2f})), null);
    assertEquals(2f, Safetensors.read(file).get("x").toFloats()[0]);
    assertTrue(Safetensors.metadata(file).isEmpty());
    assertFalse(new String(Files.readAllBytes(file), StandardCharsets.UTF_8).contains("__metadata__"));
  }

  @Test
  void writeIntoMissingDirectoryIsBadInput() {
    Path file = tmp.resolve("no/such/dir/out.safetensors");
    BadInputException ex =
        assertThrows(BadInputException.class, () -> Safetensors.write(file, Map.of(), Map.of()));
    assertOneLine(ex, "out.safetensors", "cannot write");
  }

  @Test
  void writesAnEmptyFileThatReadsBack() {
    Path file = tmp.resolve("empty.safetensors");
    Safetensors.write(file, Map.of(), Map.of());
    assertTrue(Safetensors.read(file).isEmpty());
  }

  @Test
  void readsOtherIntegerDtypesAsLongs() throws IOException {
    String json =
        "{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[8,10]},"
            + "\"c\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[10,11]},"
            + "\"d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[11,12]},"
            + "\"e\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[12,14]},"
            + "\"f\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[14,16]}}";
    ByteBuffer d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    d.putInt(-5).putInt(Integer.MAX_VALUE).putShort((short) -300).put((byte) -1).put((byte) 0xff);
    d.put((byte) 1).put((byte) 0).putShort((short) 0x3c00);
    Path file = raw("ints.safetensors", json, d.array());
    Map<String, HostTensor> m = Safetensors.read(file);
    assertArrayEquals(new long[] {-5, Integer.MAX_VALUE}, m.get("a").toLongs());
    assertEquals("I32", m.get("a").dtype());
    assertArrayEquals(new long[] {-300}, m.get("b").toLongs());
    assertArrayEquals(new long[] {-1}, m.get("c").toLongs());
    assertArrayEquals(new long[] {255}, m.get("d").toLongs());
    assertArrayEquals(new long[] {1, 0}, m.get("e").toLongs());
    assertEquals("BOOL", m.get("e").dtype());
    assertEquals(1.0f, m.get("f").toFloats()[0]);
  }

  @Test
  void ordersTensorsByDataOffset() throws IOException {
    String json =
        "{\"second\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
            + "\"first\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    ByteBuffer d = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(2f);
    Map<String, HostTensor> m = Safetensors.read(raw("order.safetensors", json, d.array()));
    assertEquals(List.of("first", "second"), new ArrayList<>(m.keySet()));
    assertEquals(2f, m.get("second").toFloats()[0]);
  }

  // ---------------------------------------------------------------------------------- malformed

  private static final String OK_ENTRY = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

  @Test
  void missingFile() {
    Path file = tmp.resolve("absent.safetensors");
    assertOneLine(assertThrows(BadInputException.class, () -> Safetensors.read(file)), "absent.safetensors", "cannot read");
  }

  @Test
  void directoryInsteadOfFile() {
    assertBad(tmp, "cannot read: is a directory");
  }

  @Test
  void fileShorterThanLengthPrefix() throws IOException {
    Path file = tmp.resolve("short.safetensors");
    Files.write(file, new byte[] {1, 2, 3});
    assertBad(file, "file is 3 bytes, shorter than the 8-byte header length");
  }

  @Test
  void forgedHeaderLength() throws IOException {
    Path file = withLength("forged.safetensors", 1L << 62, "{}", new byte[0]);
    assertBad(file, "header length 4611686018427387904 exceeds file size 10");
    Path neg = withLength("neg.safetensors", -1L, "{}", new byte[0]);
    assertBad(neg, "header length 18446744073709551615 exceeds file size 10");
  }

  @Test
  void absurdHeaderLengthIsRefusedBeforeReading() throws IOException {
    Path file = tmp.resolve("huge.safetensors");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(200_000_000L); // sparse
      f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(150_000_000L).array());
    }
    assertBad(file, "header length 150000000 exceeds the 100000000-byte limit");
  }

  @Test
  void headerTruncatedByFileEnd() throws IOException {
    Path file = withLength("trunc.safetensors", 100, "{\"a\":", new byte[0]);
    assertBad(file, "header length 100 exceeds file size 13");
  }

  @Test
  void invalidJson() throws IOException {
    assertBad(raw("badjson.safetensors", "{\"a\": {\"dtype\": F32}}", new byte[0]), "header is not valid JSON");
    assertBad(raw("trailing.safetensors", "{} {}", new byte[0]), "header is not valid JSON");
    assertBad(raw("dup.safetensors", "{\"a\":" + OK_ENTRY + ",\"a\":" + OK_ENTRY + "}", new byte[8]), "Duplicate field 'a'");
  }

  @Test
  void headerNotAnObject() throws IOException {
    assertBad(raw("array.safetensors", "[1, 2]", new byte[0]), "header is not a JSON object");
    assertBad(raw("blank.safetensors", "        ", new byte[0]), "header is not a JSON object");
    assertBad(raw("entry.safetensors", "{\"a\": 3}", new byte[0]), "tensor 'a': entry is not a JSON object");
  }

  @Test
  void headerNotUtf8() throws IOException {
    Path file = tmp.resolve("latin1.safetensors");
    byte[] header = {'{', '"', (byte) 0xff, '"', ':', '1', '}', ' '};
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(8).put(header);
    Files.write(file, b.array());
    assertBad(file, "header is not valid UTF-8");
  }

  @Test
  void missingFields() throws IOException {
    assertBad(raw("nodtype.safetensors", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "tensor 'w': missing dtype");
    assertBad(raw("noshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", new byte[8]), "tensor 'w': missing shape");
    assertBad(raw("nooffs.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[8]), "tensor 'w': missing data_offsets");
  }

  @Test
  void badFieldTypes() throws IOException {
    assertBad(entry("dtnum.safetensors", "7", "[2]", "[0,8]", 8), "dtype is not a string");
    assertBad(entry("shapeobj.safetensors", "\"F32\"", "{}", "[0,8]", 8), "shape is not a JSON array");
    assertBad(entry("shapefloat.safetensors", "\"F32\"", "[2.0]", "[0,8]", 8), "shape dimension 2.0 is not a 64-bit integer");
    assertBad(entry("shapebig.safetensors", "\"F32\"", "[99999999999999999999]", "[0,8]", 8), "is not a 64-bit integer");
    assertBad(entry("offs3.safetensors", "\"F32\"", "[2]", "[0,4,8]", 8), "data_offsets is not a [begin, end] array");
    assertBad(entry("offsneg.safetensors", "\"F32\"", "[2]", "[-8,8]", 8), "data_offsets value -8 is not a non-negative");
    assertBad(raw("meta.safetensors", "{\"__metadata__\":{\"k\":1}}", new byte[0]), "__metadata__ value for 'k' is not a string");
  }

  @Test
  void unknownDtype() throws IOException {
    assertBad(entry("f8.safetensors", "\"F8_E4M3\"", "[2]", "[0,2]", 2), "tensor 'w': unsupported dtype 'F8_E4M3'");
  }

  /** Issue 11: Jackson's "[Source: REDACTED ...]" location must not reach the user. */
  @Test
  void badHeaderJsonGivesACleanOneLineMessage() throws IOException {
    for (String json : new String[] {"{\"a\": {\"dtype\": \"F32\"", "{\"a\": [1, 2", "{\"a\": tru}", "{\"a\": {\"dtype\": F32}}"}) {
      Path file = raw("unterminated.safetensors", json, new byte[0]);
      BadInputException ex = assertThrows(BadInputException.class, () -> Safetensors.read(file));
      assertOneLine(ex, "unterminated.safetensors", "header is not valid JSON");
      assertFalse(ex.getMessage().contains("Source"), ex.getMessage());
      assertFalse(ex.getMessage().contains("REDACTED"), ex.getMessage());
      assertFalse(ex.getMessage().contains("line: "), ex.getMessage());
    }
  }

  /** Issue 11: a shape [-1,3,3,3] was reported as [-1, 0, 0, 0]; it is reported as the file gives it. */
  @Test
  void negativeDimensionReportsTheShapeAsGiven() throws IOException {
    assertBad(entry("neg4.safetensors", "\"F32\"", "[-1,3,3,3]", "[0,8]", 8), "negative dimension in shape [-1, 3, 3, 3]");
  }

  @Test
  void negativeDimension() throws IOException {
    assertBad(entry("negdim.safetensors", "\"F32\"", "[2,-1]", "[0,8]", 8), "negative dimension in shape [2, -1]");
  }

  @Test
  void elementCountOverflow() throws IOException {
    assertBad(entry("ovf.safetensors", "\"F32\"", "[1099511627776,1099511627776]", "[0,8]", 8), "overflows 64 bits");
    // numel fits but numel * itemsize does not
    assertBad(entry("ovf2.safetensors", "\"F64\"", "[4611686018427387904]", "[0,8]", 8), "overflows 64 bits");
  }

  @Test
  void endBeforeBegin() throws IOException {
    assertBad(entry("rev.safetensors", "\"F32\"", "[2]", "[8,0]", 8), "data_offsets [8, 0] end before begin");
  }

  @Test
  void offsetsBeyondFile() throws IOException {
    assertBad(entry("beyond.safetensors", "\"F32\"", "[2]", "[0,8]", 4), "data_offsets [0, 8] end beyond the data size 4");
    assertBad(entry("far.safetensors", "\"F32\"", "[2]", "[4611686018427387904,4611686018427387912]", 8), "end beyond the data size 8");
  }

  @Test
  void wrongByteCount() throws IOException {
    assertBad(entry("count.safetensors", "\"F32\"", "[3]", "[0,8]", 8), "span 8 bytes but F32 shape [3] needs 12");
  }

  @Test
  void overlapGapAndTrailingBytes() throws IOException {
    String e1 = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    String e2 = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}";
    assertBad(raw("overlap.safetensors", "{\"a\":" + e1 + ",\"b\":" + e2 + "}", new byte[12]), "tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]");
    String e3 = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}";
    assertBad(raw("gap.safetensors", "{\"a\":" + e1 + ",\"b\":" + e3 + "}", new byte[20]), "gap of 4 bytes in the data before tensor 'b'");
    assertBad(raw("tail.safetensors", "{\"a\":" + e1 + "}", new byte[11]), "data area is 11 bytes but the tensors cover only 8 (3 trailing bytes)");
  }

  @Test
  void badBoolByte() throws IOException {
    assertBad(raw("bool.safetensors", "{\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[] {1, 7}),
        "tensor 'b': BOOL element 1 has byte value 7");
  }

  @Test
  void controlCharactersInNamesStayOnOneLine() throws IOException {
    assertBad(raw("nl.safetensors", "{\"bad\\nname\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}", new byte[0]),
        "tensor 'bad\\u000aname': unsupported dtype 'X'");
  }

  @Test
  void truncatedRealFile() throws IOException {
    byte[] all = Files.readAllBytes(fixtures().resolve("parity/restv2_tiny-narrow/weights.safetensors"));
    Path file = tmp.resolve("cut.safetensors");
    Files.write(file, java.util.Arrays.copyOf(all, all.length - 100));
    assertBad(file, "tensor 'head.weight': data_offsets [2013304, 2017144] end beyond the data size 2017084");
  }

  // ------------------------------------------------------------------------------------- helpers

  private Path entry(String name, String dtype, String shape, String offsets, int dataBytes) throws IOException {
    String json = "{\"w\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}";
    return raw(name, json, new byte[dataBytes]);
  }

  private Path raw(String name, String json, byte[] data) throws IOException {
    return withLength(name, json.getBytes(StandardCharsets.UTF_8).length, json, data);
  }

  private Path withLength(String name, long length, String json, byte[] data) throws IOException {
    byte[] h = json.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(length).put(h).put(data);
    Path file = tmp.resolve(name);
    Files.write(file, b.array());
    return file;
  }

  private static void assertBad(Path file, String fragment) {
    BadInputException ex = assertThrows(BadInputException.class, () -> Safetensors.read(file));
    assertOneLine(ex, file.getFileName().toString(), fragment);
    if (Files.isRegularFile(file) && !fragment.contains("BOOL element")) {
      // metadata() validates the same header (but never looks at the tensor bytes)
      BadInputException ex2 = assertThrows(BadInputException.class, () -> Safetensors.metadata(file));
      assertEquals(ex.getMessage(), ex2.getMessage());
    }
  }

  static void assertOneLine(BadInputException ex, String fileName, String fragment) {
    String msg = ex.getMessage();
    assertTrue(msg.contains(fileName), "message names the file: " + msg);
    assertTrue(msg.contains(fragment), "message says '" + fragment + "': " + msg);
    assertFalse(msg.contains("\n") || msg.contains("\r"), "message is one line: " + msg);
  }

  private static void assertBits(int[] expected, float[] actual) {
    for (int i = 0; i < expected.length; i++) {
      assertEquals(
          Integer.toHexString(expected[i]), Integer.toHexString(Float.floatToRawIntBits(actual[i])), "element " + i);
    }
  }

  private static int[] floatBits(float[] f) {
    int[] out = new int[f.length];
    for (int i = 0; i < f.length; i++) {
      out[i] = Float.floatToRawIntBits(f[i]);
    }
    return out;
  }

  private static float last(float[] a) {
    return a[a.length - 1];
  }

  /** CRC32 of every floating tensor's float32 values, little-endian, in map order. */
  private static long floatCrc(Map<String, HostTensor> m) {
    CRC32 crc = new CRC32();
    for (HostTensor t : m.values()) {
      if (t.isFloating()) {
        float[] f = t.toFloats();
        ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(f);
        crc.update(b);
      }
    }
    return crc.getValue();
  }
}
