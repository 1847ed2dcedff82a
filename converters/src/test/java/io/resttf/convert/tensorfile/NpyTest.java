package io.resttf.convert.tensorfile;

import static io.resttf.convert.tensorfile.SafetensorsTest.assertOneLine;
import static io.resttf.convert.tensorfile.SafetensorsTest.fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
  @TempDir Path tmp;

  private static Path parity(String file) {
    return fixtures().resolve("parity/restv2_tiny-narrow").resolve(file);
  }

  // ------------------------------------------------------------------------------- real fixtures

  @Test
  void readsReferenceInput() {
    HostTensor t = Npy.read(parity("input_0.npy"));
    assertEquals("F32", t.dtype());
    assertArrayEquals(new long[] {2, 3, 224, 224}, t.shape());
    float[] f = t.toFloats();
    // values from numpy: a[0,0,0,0], a[0,0,0,1], a[1,2,223,223], a.reshape(-1)[123456]
    assertEquals(-0.7819748520851135f, f[0]);
    assertEquals(0.5557730793952942f, f[1]);
    assertEquals(0.816534161567688f, f[f.length - 1]);
    assertEquals(0.2421189695596695f, f[123456]);
    ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(f);
    CRC32 crc = new CRC32();
    crc.update(b);
    assertEquals(2674238282L, crc.getValue(), "CRC32 of numpy's a.tobytes()");
  }

  @Test
  void readsReferenceLabelsAsLongs() {
    HostTensor t = Npy.read(parity("labels_0.npy"));
    assertEquals("I64", t.dtype());
    assertArrayEquals(new long[] {2}, t.shape());
    assertArrayEquals(new long[] {0, 3}, t.toLongs());
  }

  @Test
  void rewritesReferenceFilesByteForByte() throws IOException {
    for (String name : List.of("input_0.npy", "input_1.npy", "labels_0.npy", "logits_0.npy", "stage3_1.npy")) {
      Path out = tmp.resolve(name);
      Npy.write(out, Npy.read(parity(name)));
      assertArrayEquals(Files.readAllBytes(parity(name)), Files.readAllBytes(out), name);
    }
  }

  // ---------------------------------------------------------------------------------- round trip

  @Test
  void roundTripsFloatsDoublesLongsAndOddShapes() throws IOException {
    check(HostTensor.ofFloats(new long[] {}, new float[] {3.5f}), "()");
    check(HostTensor.ofFloats(new long[] {5}, new float[] {1, -0f, Float.NaN, Float.MIN_VALUE, -1e30f}), "(5,)");
    check(HostTensor.ofFloats(new long[] {0, 7}, new float[0]), "(0, 7)");
    check(HostTensor.ofDoubles(new long[] {1, 2}, new double[] {Math.E, -0x1p-1074}), "(1, 2)");
    check(HostTensor.ofLongs("I64", new long[] {3}, new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE}), "(3,)");
    try (Stream<Path> files = Files.list(tmp)) {
      assertEquals(List.of(tmp.resolve("t.npy")), files.toList(), "no temporary files left behind");
    }
  }

  private void check(HostTensor t, String shapeRepr) throws IOException {
    Path file = tmp.resolve("t.npy");
    Npy.write(file, t);
    byte[] bytes = Files.readAllBytes(file);
    int hl = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
    assertEquals(1, bytes[6]);
    assertEquals(0, (10 + hl) % 64, "header is padded to a multiple of 64");
    assertEquals('\n', bytes[10 + hl - 1]);
    String header = new String(bytes, 10, hl, StandardCharsets.ISO_8859_1);
    String descr = t.isFloating() ? ("F64".equals(t.dtype()) ? "<f8" : "<f4") : "<i8";
    assertTrue(
        header.startsWith("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeRepr + ", }"), header);

    HostTensor back = Npy.read(file);
    assertArrayEquals(t.shape(), back.shape());
    if (!t.isFloating()) {
      assertArrayEquals(t.toLongs(), back.toLongs());
    } else if ("F64".equals(t.dtype())) {
      assertEquals("F64", back.dtype());
      assertArrayEquals(t.toDoubles(), back.toDoubles());
    } else {
      assertEquals("F32", back.dtype());
      float[] a = t.toFloats();
      float[] b = back.toFloats();
      assertEquals(a.length, b.length);
      for (int i = 0; i < a.length; i++) {
        assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]));
      }
    }
  }

  @Test
  void readsOtherHeaderSpellingsVersionsAndDtypes() throws IOException {
    ByteBuffer be = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putFloat(1.5f).putFloat(-2f);
    HostTensor t = Npy.read(npy("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", be.array()));
    assertArrayEquals(new float[] {1.5f, -2f}, t.toFloats());

    HostTensor v2 = Npy.read(npy("v2.npy", 2, "{\"descr\":\"<i4\",\"shape\":(1L, 2L),\"fortran_order\":False}",
        le(8).putInt(-1).putInt(9).array()));
    assertArrayEquals(new long[] {1, 2}, v2.shape());
    assertArrayEquals(new long[] {-1, 9}, v2.toLongs());
    assertEquals("I32", v2.dtype());

    HostTensor v3 = Npy.read(npy("v3.npy", 3, "{ 'descr' : '|u1' , 'fortran_order' : False , 'shape' : ( 3 , ) }",
        new byte[] {0, 7, (byte) 255}));
    assertArrayEquals(new long[] {0, 7, 255}, v3.toLongs());
    assertEquals("U8", v3.dtype());

    HostTensor b1 = Npy.read(npy("b1.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", new byte[] {1, 0}));
    assertArrayEquals(new long[] {1, 0}, b1.toLongs());
    HostTensor f2 = Npy.read(npy("f2.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (), }",
        le(2).putShort((short) 0xc000).array()));
    assertEquals("F16", f2.dtype());
    assertArrayEquals(new float[] {-2f}, f2.toFloats());
    HostTensor f8 = Npy.read(npy("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
        le(8).putDouble(Math.PI).array()));
    assertArrayEquals(new double[] {Math.PI}, f8.toDoubles());
  }

  // ---------------------------------------------------------------------------------- malformed

  @Test
  void missingFile() {
    assertBad(tmp.resolve("absent.npy"), "cannot read: no such file or directory");
  }

  @Test
  void tooShort() throws IOException {
    Path file = tmp.resolve("short.npy");
    Files.write(file, new byte[] {(byte) 0x93, 'N', 'U'});
    assertBad(file, "file is 3 bytes, too short for an .npy header");
  }

  @Test
  void badMagic() throws IOException {
    Path file = tmp.resolve("magic.npy");
    Files.write(file, "PK\u0003\u0004 this is a zip, not an npy".getBytes(StandardCharsets.ISO_8859_1));
    assertBad(file, "not an .npy file (bad magic");
  }

  @Test
  void unsupportedVersion() throws IOException {
    assertBad(npy("v4.npy", 4, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", new byte[4]),
        "unsupported .npy format version 4.0");
  }

  @Test
  void fortranOrder() throws IOException {
    assertBad(npy("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]),
        "Fortran order not supported");
  }

  @Test
  void truncatedData() throws IOException {
    assertBad(npy("trunc.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new byte[20]),
        "truncated data: 20 bytes but <f4 shape [2, 3] needs 24");
    byte[] all = Files.readAllBytes(parity("input_0.npy"));
    Path cut = tmp.resolve("cut.npy");
    Files.write(cut, Arrays.copyOf(all, all.length - 1));
    assertBad(cut, "truncated data: 1204223 bytes but <f4 shape [2, 3, 224, 224] needs 1204224");
  }

  @Test
  void trailingData() throws IOException {
    assertBad(npy("extra.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", new byte[9]),
        "1 trailing bytes after the data");
  }

  @Test
  void forgedHeaderLength() throws IOException {
    Path file = tmp.resolve("forged.npy");
    ByteBuffer b = le(16).put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(-1).putInt(0);
    Files.write(file, b.array());
    assertBad(file, "header length 4294967295 exceeds file size 16");
  }

  @Test
  void unsupportedDescr() throws IOException {
    assertBad(npy("c8.npy", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]),
        "unsupported descr '<c8'");
    assertBad(npy("obj.npy", 1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new byte[8]),
        "unsupported descr '|O'");
    assertBad(npy("struct.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new byte[4]),
        "nested lists or dicts are not supported");
  }

  @Test
  void malformedHeaderDicts() throws IOException {
    assertBad(npy("nokey.npy", 1, "{'descr': '<f4', 'fortran_order': False}", new byte[4]), "header has no 'shape' key");
    assertBad(npy("extrakey.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': True}", new byte[4]),
        "header has unexpected keys [x]");
    assertBad(npy("unterminated.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, ", new byte[8]),
        "header ends early");
    assertBad(npy("negdim.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", new byte[8]),
        "negative dimension in shape");
    assertBad(npy("notuple.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", new byte[8]),
        "shape (2) is not a tuple");
    assertBad(npy("hugedim.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", new byte[8]),
        "does not fit 64 bits");
    assertBad(npy("ovf.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", new byte[8]),
        "element count of shape [4294967296, 4294967296] overflows 64 bits");
    assertBad(npy("dupkey.npy", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (), }", new byte[4]),
        "duplicate key 'descr'");
    assertBad(npy("fo.npy", 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (), }", new byte[4]), "unexpected value");
    assertBad(npy("after.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()} junk", new byte[4]),
        "unexpected text after the dict");
  }

  @Test
  void badBoolByte() throws IOException {
    assertBad(npy("bool.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", new byte[] {0, 2}),
        "BOOL element 1 has byte value 2");
  }

  // ------------------------------------------------------------------------------------- helpers

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** An .npy file with the given version, header dict (padded with spaces and '\n') and raw data. */
  private Path npy(String name, int major, String dict, byte[] data) throws IOException {
    byte[] h = (dict + "   \n").getBytes(StandardCharsets.UTF_8);
    int pre = major == 1 ? 10 : 12;
    ByteBuffer b = le(pre + h.length + data.length);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
    if (major == 1) {
      b.putShort((short) h.length);
    } else {
      b.putInt(h.length);
    }
    b.put(h).put(data);
    Path file = tmp.resolve(name);
    Files.write(file, b.array());
    return file;
  }

  private static void assertBad(Path file, String fragment) {
    BadInputException ex = assertThrows(BadInputException.class, () -> Npy.read(file));
    assertOneLine(ex, file.getFileName().toString(), fragment);
  }
}
