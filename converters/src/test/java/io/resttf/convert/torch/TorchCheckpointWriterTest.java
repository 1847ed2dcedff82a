package io.resttf.convert.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TorchCheckpointWriterTest {
  /** A state_dict with every case the writer must get right. */
  static LinkedHashMap<String, HostTensor> sample() {
    SplittableRandom rng = new SplittableRandom(42);
    LinkedHashMap<String, HostTensor> sd = new LinkedHashMap<>();
    sd.put("stem.proj.0.weight", floats(rng, 8, 3, 3, 3));
    sd.put("stem.proj.1.weight", floats(rng, 8));
    sd.put("stem.proj.1.bias", floats(rng, 8));
    sd.put("stem.proj.1.running_mean", floats(rng, 8));
    sd.put("stem.proj.1.running_var", floats(rng, 8));
    sd.put("stem.proj.1.num_batches_tracked", HostTensor.ofLongs("I64", new long[0], new long[] {123456789012L}));
    sd.put("empty", HostTensor.ofFloats(new long[] {0, 4}, new float[0]));
    sd.put("empty_inner", HostTensor.ofFloats(new long[] {3, 0, 2}, new float[0]));
    sd.put("scalar", HostTensor.ofFloats(new long[0], new float[] {-2.5f}));
    sd.put("specials", HostTensor.ofFloats(new long[] {7}, new float[] {-0.0f, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7fc01234), Float.MIN_VALUE, Float.MAX_VALUE, 1e-40f}));
    sd.put("was_half", HostTensor.ofFloats("F16", new long[] {2}, new float[] {0.5f, 65504f}));
    double[] d = new double[5];
    for (int i = 0; i < d.length; i++) d[i] = rng.nextDouble() * 1e300;
    d[4] = Double.longBitsToDouble(0x7ff8000000000abcL);
    sd.put("doubles", HostTensor.ofDoubles(new long[] {5}, d));
    sd.put("longs", HostTensor.ofLongs("I64", new long[] {2, 3},
        new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 40, -300}));
    sd.put("bools", HostTensor.ofLongs("BOOL", new long[] {2}, new long[] {1, 0}));
    sd.put("rank5", floats(rng, 2, 1, 3, 1, 2));
    sd.put("big", floats(rng, 700, 1000)); // several 1 MiB chunks
    sd.put("ünïcode key ✓", floats(rng, 3));
    return sd;
  }

  static HostTensor floats(SplittableRandom rng, long... shape) {
    float[] v = new float[Math.toIntExact(HostTensor.numElements(shape))];
    for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextDouble() * 2 - 1);
    return HostTensor.ofFloats(shape, v);
  }

  /** What a torch file holds for the tensor: F64 stays F64, other floats become F32, integers I64. */
  static String writtenDtype(HostTensor t) {
    return !t.isFloating() ? "I64" : "F64".equals(t.dtype()) ? "F64" : "F32";
  }

  static void assertSameStateDict(Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
    assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()), "keys and order");
    for (Map.Entry<String, HostTensor> e : expected.entrySet()) {
      String k = e.getKey();
      HostTensor want = e.getValue();
      HostTensor got = actual.get(k);
      assertArrayEquals(want.shape(), got.shape(), k);
      assertEquals(writtenDtype(want), got.dtype(), k);
      switch (writtenDtype(want)) {
        case "F32" -> assertArrayEquals(bits(want.toFloats()), bits(got.toFloats()), k);
        case "F64" -> assertArrayEquals(bits(want.toDoubles()), bits(got.toDoubles()), k);
        default -> assertArrayEquals(want.toLongs(), got.toLongs(), k);
      }
    }
  }

  static int[] bits(float[] a) {
    int[] b = new int[a.length];
    for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
    return b;
  }

  static long[] bits(double[] a) {
    long[] b = new long[a.length];
    for (int i = 0; i < a.length; i++) b[i] = Double.doubleToRawLongBits(a[i]);
    return b;
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void roundTripIsBitExact(boolean zip64, @TempDir Path tmp) {
    LinkedHashMap<String, HostTensor> sd = sample();
    Path file = tmp.resolve("model.pth");
    TorchCheckpointWriter.write(file, sd, zip64);
    TorchCheckpoint c = TorchCheckpoint.read(file, false, null);
    assertEquals("torch zip (torch >= 1.6)", c.format());
    assertEquals("plain state_dict", c.wrapper());
    assertFalse(c.hasEma());
    assertSameStateDict(sd, c.stateDict());
    assertEquals(CheckpointFiles.Kind.TORCH_ZIP, CheckpointFiles.detect(file));
  }

  @Test
  void manyKeysSpanSeveralSetitemsBatches(@TempDir Path tmp) {
    // Python's pickler writes SETITEMS per 1000 items, and a lone last item with SETITEM
    LinkedHashMap<String, HostTensor> sd = new LinkedHashMap<>();
    for (int i = 0; i < 2001; i++) {
      sd.put("blocks." + i + ".weight", HostTensor.ofFloats(new long[] {1}, new float[] {i}));
    }
    Path file = tmp.resolve("many.pth");
    TorchCheckpointWriter.write(file, sd);
    assertSameStateDict(sd, TorchCheckpoint.read(file, false, null).stateDict());
  }

  @Test
  void emptyStateDictIsAValidFile(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("empty.pth");
    TorchCheckpointWriter.write(file, Map.of());
    try (ZipFile z = new ZipFile(file.toFile())) {
      assertEquals(List.of("archive/data.pkl", "archive/byteorder", "archive/version"), names(z));
    }
    byte[] pkl = TorchCheckpointWriter.pickle(List.of(), List.of());
    // PROTO 2, GLOBAL collections OrderedDict, BINPUT 0, EMPTY_TUPLE, REDUCE, STOP (no SETITEMS for no items)
    assertEquals("\u0080\u0002ccollections\nOrderedDict\nq\u0000)R.", new String(pkl, StandardCharsets.ISO_8859_1));
  }

  @Test
  void layoutIsTorchs(@TempDir Path tmp) throws IOException {
    LinkedHashMap<String, HostTensor> sd = new LinkedHashMap<>();
    for (int i = 0; i < 12; i++) {
      sd.put("t" + i, HostTensor.ofFloats(new long[] {i}, new float[i]));
    }
    Path file = tmp.resolve("m.pth");
    TorchCheckpointWriter.write(file, sd);
    try (ZipFile z = new ZipFile(file.toFile())) {
      List<String> expected = new ArrayList<>(List.of("archive/data.pkl", "archive/byteorder"));
      for (String k : List.of("0", "1", "10", "11", "2", "3", "4", "5", "6", "7", "8", "9")) {
        expected.add("archive/data/" + k); // sorted as strings, as torch.save writes them
      }
      expected.add("archive/version");
      assertEquals(expected, names(z));
      for (ZipEntry e : Collections.list(z.entries())) {
        assertEquals(ZipEntry.STORED, e.getMethod(), e.getName());
      }
      assertEquals("little", new String(z.getInputStream(z.getEntry("archive/byteorder")).readAllBytes(),
          StandardCharsets.US_ASCII));
      assertEquals("3\n", new String(z.getInputStream(z.getEntry("archive/version")).readAllBytes(),
          StandardCharsets.US_ASCII));
      assertEquals(11 * 4, z.getEntry("archive/data/11").getSize());
      assertEquals(0, z.getEntry("archive/data/0").getSize());
    }
    assertDataAligned(file);
  }

  /** Walks the local headers: every entry's data starts at a multiple of 64 bytes, as torch aligns it. */
  static void assertDataAligned(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer h = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
      long pos = 0;
      int seen = 0;
      while (true) {
        h.clear();
        ch.read(h, pos);
        if (h.getInt(0) != 0x04034b50) {
          break;
        }
        int nameLen = h.getShort(26) & 0xffff, extraLen = h.getShort(28) & 0xffff;
        long size = h.getInt(22) & 0xffffffffL;
        if (size == 0xffffffffL) { // zip64: the first extra field holds the sizes
          ByteBuffer x = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
          ch.read(x, pos + 30 + nameLen);
          assertEquals(1, x.getShort(0));
          size = x.getLong(4);
        }
        long data = pos + 30 + nameLen + extraLen;
        assertEquals(0, data % TorchCheckpointWriter.ALIGNMENT, "entry data at " + data);
        pos = data + size;
        seen++;
      }
      assertTrue(seen >= 4, "local headers found: " + seen);
    }
  }

  @Test
  void alignedWithZip64Too(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("z.pth");
    TorchCheckpointWriter.write(file, sample(), true);
    assertDataAligned(file);
  }

  static List<String> names(ZipFile z) {
    return z.stream().map(ZipEntry::getName).toList();
  }

  @Test
  void replacesAnExistingFileAtomically(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("model.pth");
    Files.writeString(file, "old content");
    LinkedHashMap<String, HostTensor> sd = sample();
    TorchCheckpointWriter.write(file, sd);
    assertSameStateDict(sd, TorchCheckpoint.read(file, false, null).stateDict());
    try (Stream<Path> files = Files.list(tmp)) {
      assertEquals(List.of(file), files.toList(), "no temporary file left behind");
    }
  }

  @Test
  void unwritableTargetIsOneLineError(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("no/such/dir/model.pth");
    BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpointWriter.write(file, sample()));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("cannot write"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void contiguousStridesAreTorchs() {
    assertArrayEquals(new long[] {27, 9, 3, 1}, TorchCheckpointWriter.contiguousStrides(new long[] {8, 3, 3, 3}));
    assertArrayEquals(new long[0], TorchCheckpointWriter.contiguousStrides(new long[0]));
    assertArrayEquals(new long[] {4, 1}, TorchCheckpointWriter.contiguousStrides(new long[] {0, 4}));
    assertArrayEquals(new long[] {2, 2, 1}, TorchCheckpointWriter.contiguousStrides(new long[] {3, 0, 2}));
  }

  // ---------------------------------------------------------------------- Python's own view of the file

  private static final String CHECK_PY = String.join("\n",
      "import collections, hashlib, io, json, pickle, pickletools, struct, sys, zipfile",
      "path = sys.argv[1]",
      "z = zipfile.ZipFile(path)",
      "z.testzip()",
      "raw = open(path, 'rb').read()",
      "infos = z.infolist()",
      "misaligned = []",
      "for i in infos:",
      "    assert i.compress_type == zipfile.ZIP_STORED, i.filename",
      "    n, e = struct.unpack('<HH', raw[i.header_offset + 26:i.header_offset + 30])",
      "    if (i.header_offset + 30 + n + e) % 64: misaligned.append(i.filename)",
      "pkl = z.read('archive/data.pkl')",
      "dis = io.StringIO()",
      "pickletools.dis(pkl, out=dis)  # raises on any malformed opcode, memo or stack error",
      "ITEM = {'FloatStorage': 4, 'DoubleStorage': 8, 'LongStorage': 8}",
      "def rebuild(storage, offset, size, stride, requires_grad, hooks):",
      "    return dict(storage=storage[0], key=storage[1], numel=storage[2], sha=storage[3], offset=offset,",
      "                size=list(size), stride=list(stride), requires_grad=requires_grad,",
      "                hooks=type(hooks).__name__ + str(len(hooks)), size_is_tuple=isinstance(size, tuple))",
      "class U(pickle.Unpickler):",
      "    def find_class(self, module, name):",
      "        if (module, name) == ('collections', 'OrderedDict'): return collections.OrderedDict",
      "        if (module, name) == ('torch._utils', '_rebuild_tensor_v2'): return rebuild",
      "        if module == 'torch' and name in ITEM: return name",
      "        raise pickle.UnpicklingError('unexpected global %s.%s' % (module, name))",
      "    def persistent_load(self, pid):",
      "        kind, typ, key, location, numel = pid",
      "        assert kind == 'storage' and location == 'cpu' and isinstance(key, str), pid",
      "        data = z.read('archive/data/' + key)",
      "        assert len(data) == numel * ITEM[typ], (pid, len(data))",
      "        return (typ, key, numel, hashlib.sha256(data).hexdigest())",
      "sd = U(io.BytesIO(pkl)).load()",
      "print(json.dumps(dict(",
      "    names=[i.filename for i in infos], misaligned=misaligned, protocol=pkl[1], top=type(sd).__name__,",
      "    byteorder=z.read('archive/byteorder').decode(), version=z.read('archive/version').decode(),",
      "    tensors=[dict(name=k, **v) for k, v in sd.items()])))",
      "");

  static boolean hasPython() {
    try {
      Process p = new ProcessBuilder("python3", "-c", "import pickletools, zipfile").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void pythonReadsWhatTorchWouldLoad(boolean zip64, @TempDir Path tmp) throws Exception {
    assumeTrue(hasPython(), "python3 is not available");
    LinkedHashMap<String, HostTensor> sd = sample();
    for (int i = 0; sd.size() < 2001; i++) { // two SETITEMS batches of 1000, then one SETITEM
      sd.put("extra." + i, HostTensor.ofFloats(new long[] {1, 2}, new float[] {i, -i}));
    }
    Path file = tmp.resolve("model.pth");
    TorchCheckpointWriter.write(file, sd, zip64);
    Path script = tmp.resolve("check.py");
    Files.writeString(script, CHECK_PY);
    Process p = new ProcessBuilder("python3", script.toString(), file.toString()).start();
    byte[] stdout;
    byte[] stderr;
    try (InputStream out = p.getInputStream(); InputStream err = p.getErrorStream()) {
      stdout = out.readAllBytes();
      stderr = err.readAllBytes();
    }
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), () -> new String(stderr, StandardCharsets.UTF_8));
    JsonNode r = new ObjectMapper().readTree(stdout);
    assertEquals(0, r.get("misaligned").size(), r.get("misaligned").toString());
    assertEquals(2, r.get("protocol").asInt());
    assertEquals("OrderedDict", r.get("top").asText());
    assertEquals("little", r.get("byteorder").asText());
    assertEquals("3\n", r.get("version").asText());
    assertEquals("archive/data.pkl", r.get("names").get(0).asText());
    assertEquals(sd.size() + 3, r.get("names").size());
    JsonNode tensors = r.get("tensors");
    assertEquals(sd.size(), tensors.size());
    int i = 0;
    for (Map.Entry<String, HostTensor> e : sd.entrySet()) {
      JsonNode t = tensors.get(i);
      HostTensor h = e.getValue();
      String where = e.getKey();
      assertEquals(e.getKey(), t.get("name").asText());
      assertEquals(switch (writtenDtype(h)) {
        case "F32" -> "FloatStorage";
        case "F64" -> "DoubleStorage";
        default -> "LongStorage";
      }, t.get("storage").asText(), where);
      assertEquals(Integer.toString(i), t.get("key").asText(), where);
      assertEquals(h.size(), t.get("numel").asLong(), where);
      assertEquals(0, t.get("offset").asLong(), where);
      assertArrayEquals(h.shape(), longs(t.get("size")), where);
      assertArrayEquals(TorchCheckpointWriter.contiguousStrides(h.shape()), longs(t.get("stride")), where);
      assertTrue(t.get("size_is_tuple").asBoolean(), where);
      assertFalse(t.get("requires_grad").asBoolean(), where);
      assertEquals("OrderedDict0", t.get("hooks").asText(), where);
      assertEquals(sha256(h), t.get("sha").asText(), where);
      i++;
    }
  }

  static long[] longs(JsonNode a) {
    long[] v = new long[a.size()];
    for (int i = 0; i < v.length; i++) v[i] = a.get(i).asLong();
    return v;
  }

  /** SHA-256 of the tensor's little-endian bytes as written. */
  static String sha256(HostTensor t) throws Exception {
    String dt = writtenDtype(t);
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(t.size() * (dt.equals("F32") ? 4 : 8)))
        .order(ByteOrder.LITTLE_ENDIAN);
    switch (dt) {
      case "F32" -> b.asFloatBuffer().put(t.toFloats());
      case "F64" -> b.asDoubleBuffer().put(t.toDoubles());
      default -> b.asLongBuffer().put(t.toLongs());
    }
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
  }

  // ------------------------------------------------- the reader's chunked paths, on files the writer cannot make

  /** Views that cross the reader's chunk boundaries, shared storages, a strided view, F16 and I32 storages. */
  @Test
  void viewsAcrossReadChunksAreExact(@TempDir Path tmp) {
    int chunkFloats = TorchMaterializer.CHUNK / 4;
    float[] f = new float[2 * chunkFloats + 75_000];
    for (int i = 0; i < f.length; i++) f[i] = i * 0.5f - 7;
    short[] h = new short[TorchMaterializer.CHUNK / 2 + 1000];
    for (int i = 0; i < h.length; i++) h[i] = (short) (i * 7 + 3); // arbitrary halves, NaNs included
    float[] g = new float[400 * 1000];
    for (int i = 0; i < g.length; i++) g[i] = -i;
    int[] n = new int[chunkFloats + 10];
    for (int i = 0; i < n.length; i++) n[i] = i % 2 == 0 ? -i : i * 1000;
    PickleBuilder p = new PickleBuilder().proto(2).orderedDict().mark();
    p.str("whole").tensor("FloatStorage", "0", f.length, 0, new long[] {f.length}, new long[] {1});
    p.str("across").tensor("FloatStorage", "0", f.length, chunkFloats - 4, new long[] {10}, new long[] {1});
    p.str("matrix").tensor("FloatStorage", "0", f.length, 2 * chunkFloats - 500, new long[] {2, 1000},
        new long[] {1000, 1});
    p.str("unit_dims").tensor("FloatStorage", "0", f.length, chunkFloats - 1, new long[] {4, 1},
        new long[] {1, 1});
    p.str("half_across").tensor("HalfStorage", "1", h.length, h.length - 1003, new long[] {5}, new long[] {1});
    p.str("half").tensor("HalfStorage", "1", h.length, 0, new long[] {h.length}, new long[] {1});
    p.str("transposed").tensor("FloatStorage", "2", g.length, 0, new long[] {1000, 400}, new long[] {1, 1000});
    p.str("ints").tensor("IntStorage", "3", n.length, 0, new long[] {n.length}, new long[] {1});
    p.setitems().stop();
    ByteBuffer fb = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    fb.asFloatBuffer().put(f);
    ByteBuffer hb = ByteBuffer.allocate(h.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    hb.asShortBuffer().put(h);
    ByteBuffer gb = ByteBuffer.allocate(g.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    gb.asFloatBuffer().put(g);
    ByteBuffer nb = ByteBuffer.allocate(n.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    nb.asIntBuffer().put(n);
    Path file = TorchTestFiles.writeZip(tmp.resolve("views.pth"), "archive", p.bytes(),
        Map.of("0", fb.array(), "1", hb.array(), "2", gb.array(), "3", nb.array()));
    Map<String, HostTensor> sd = TorchCheckpoint.read(file, false, null).stateDict();

    assertArrayEquals(bits(f), bits(sd.get("whole").toFloats()));
    assertArrayEquals(bits(java.util.Arrays.copyOfRange(f, chunkFloats - 4, chunkFloats + 6)),
        bits(sd.get("across").toFloats()));
    assertArrayEquals(bits(java.util.Arrays.copyOfRange(f, 2 * chunkFloats - 500, 2 * chunkFloats + 1500)),
        bits(sd.get("matrix").toFloats()));
    assertArrayEquals(bits(java.util.Arrays.copyOfRange(f, chunkFloats - 1, chunkFloats + 3)),
        bits(sd.get("unit_dims").toFloats()));
    float[] halves = new float[h.length];
    for (int i = 0; i < h.length; i++) halves[i] = Safetensors.halfToFloat(h[i]);
    assertEquals("F16", sd.get("half").dtype());
    assertArrayEquals(bits(halves), bits(sd.get("half").toFloats()));
    assertArrayEquals(bits(java.util.Arrays.copyOfRange(halves, h.length - 1003, h.length - 998)),
        bits(sd.get("half_across").toFloats()));
    float[] t = sd.get("transposed").toFloats();
    for (int i = 0; i < 1000; i++) {
      for (int j = 0; j < 400; j++) {
        assertEquals(g[j * 1000 + i], t[i * 400 + j]);
      }
    }
    long[] ints = sd.get("ints").toLongs();
    for (int i = 0; i < n.length; i++) assertEquals(n[i], ints[i]);
  }

  /** Deflated entries (torch never writes them) take the reader's path through ZipFile's streams. */
  @Test
  void deflatedEntriesReadTheSame(@TempDir Path tmp) throws IOException {
    LinkedHashMap<String, HostTensor> sd = sample();
    Path stored = tmp.resolve("stored.pth");
    TorchCheckpointWriter.write(stored, sd);
    Path deflated = tmp.resolve("deflated.pth");
    try (ZipFile in = new ZipFile(stored.toFile());
        java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(deflated))) {
      for (ZipEntry e : Collections.list(in.entries())) {
        out.putNextEntry(new ZipEntry(e.getName())); // DEFLATED, sizes in a data descriptor
        out.write(in.getInputStream(e).readAllBytes());
        out.closeEntry();
      }
    }
    try (ZipFile z = new ZipFile(deflated.toFile())) {
      assertEquals(ZipEntry.DEFLATED, z.getEntry("archive/data/0").getMethod());
    }
    assertSameStateDict(sd, TorchCheckpoint.read(deflated, false, null).stateDict());
  }
}
