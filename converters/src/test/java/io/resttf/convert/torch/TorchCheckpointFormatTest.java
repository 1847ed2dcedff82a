package io.resttf.convert.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Synthetic torch files from resources/pth/make_pth.py (every pickle protocol, every storage dtype, strided
 * and offset views, shared storages, big-endian, legacy view storages, training-checkpoint clutter), checked
 * against values numpy computed from the same strided views (expected.json).
 */
class TorchCheckpointFormatTest {
  private static final JsonNode EXPECTED = Fixtures.json(TorchTestFiles.resource("expected.json"));

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3, 4, 5})
  void trainingCheckpointInEveryPickleProtocol(int protocol) {
    var file = TorchTestFiles.resource("training_p" + protocol + ".pth");
    TorchCheckpoint model = TorchCheckpoint.read(file, false, null);
    assertEquals("['model']", model.wrapper());
    assertTrue(model.hasEma());
    assertEquals("torch zip (torch >= 1.6)", model.format());
    assertTrue(model.otherEntries().containsAll(List.of("model_ema", "optimizer", "epoch", "args", "best_acc",
        "raw", "big", "frozen", "arr")), model.otherEntries().toString());
    assertMatches(EXPECTED.get("model"), model.stateDict());

    TorchCheckpoint ema = TorchCheckpoint.read(file, true, null);
    assertEquals("['model_ema']", ema.wrapper());
    assertMatches(EXPECTED.get("model_ema"), ema.stateDict());
  }

  @Test
  void orderedDictMetadataKeepsAllItems() {
    // the state_dict carries _metadata set by BUILD after its items: every key must survive
    TorchCheckpoint c = TorchCheckpoint.read(TorchTestFiles.resource("training_p2.pth"), false, null);
    assertEquals(EXPECTED.get("model").size(), c.stateDict().size());
    assertEquals(16, c.stateDict().size());
  }

  @Test
  void rootFolderNamedAfterTheFileAndNoByteorderEntry() {
    TorchCheckpoint c = TorchCheckpoint.read(TorchTestFiles.resource("plain_basename_root.pth"), false, null);
    assertEquals("plain state_dict", c.wrapper());
    assertEquals(List.of(), c.otherEntries());
    assertMatches(EXPECTED.get("model"), c.stateDict());
  }

  @Test
  void bigEndianStoragesAreByteSwapped() {
    TorchCheckpoint c = TorchCheckpoint.read(TorchTestFiles.resource("bigendian.pth"), false, null);
    assertMatches(EXPECTED.get("model"), c.stateDict());
  }

  @Test
  void dataParallelPrefixIsStripped() {
    TorchCheckpoint c = TorchCheckpoint.read(TorchTestFiles.resource("module_prefix.pth"), false, null);
    assertEquals("['state_dict'], 'module.' prefixes stripped", c.wrapper());
    assertEquals(List.of("epoch"), c.otherEntries());
    assertMatches(EXPECTED.get("model"), c.stateDict());
  }

  @Test
  void legacyFormatWithViewStorages() {
    TorchCheckpoint c = TorchCheckpoint.read(TorchTestFiles.resource("legacy_views.pth"), false, null);
    assertEquals("torch legacy (torch < 1.6)", c.format());
    assertEquals("plain state_dict", c.wrapper());
    assertMatches(EXPECTED.get("legacy"), c.stateDict());

    TorchCheckpoint t = TorchCheckpoint.read(TorchTestFiles.resource("legacy_training.pth"), false, null);
    assertEquals("['model']", t.wrapper());
    assertEquals(List.of("epoch", "args"), t.otherEntries());
    assertMatches(EXPECTED.get("legacy"), t.stateDict());
  }

  @Test
  void storageTypeSpellingsAndTensorRebuilders(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
    PickleBuilder p = new PickleBuilder().proto(2).orderedDict().mark();
    // a dtype global in place of the storage type (newer torch), shared by two views
    p.str("half").tensor("torch", "float16", "0", 4, 0, new long[] {2}, new long[] {1});
    p.str("half_tail").tensor("torch", "float16", "0", 4, 2, new long[] {2}, new long[] {1});
    p.str("untyped").tensor("torch.storage", "UntypedStorage", "1", 4, 0, new long[] {2, 2}, new long[] {1, 2});
    p.str("cuda").tensor("torch.cuda", "FloatStorage", "2", 1, 0, new long[] {}, new long[] {});
    // nn.Parameter (torch >= 1.x), a Parameter with state, a tensor subclass, torch.Size as the size
    p.str("param").global("torch._utils", "_rebuild_parameter").mark()
        .tensor("torch", "FloatStorage", "2", 1, 0, new long[] {1}, new long[] {1}).op(0x88).orderedDict().tuple()
        .reduce();
    p.str("param_state").global("torch._utils", "_rebuild_parameter_with_state").mark()
        .tensor("torch", "FloatStorage", "2", 1, 0, new long[] {1, 1}, new long[] {1, 1}).op(0x88).orderedDict()
        .emptyDict().tuple().reduce();
    p.str("subclass").global("torch._tensor", "_rebuild_from_type_v2").mark()
        .global("torch._utils", "_rebuild_tensor_v2").global("torch.nn.parameter", "Parameter")
        .mark().tensorArgs("torch", "FloatStorage", "2", 1, 0, new long[] {1}, new long[] {1}).tuple()
        .emptyDict().tuple().reduce();
    p.str("sized").global("torch._utils", "_rebuild_tensor").mark()
        .mark().str("storage").global("torch", "BoolStorage").str("3").str("cpu").integer(3).tuple().op('Q')
        .integer(0).global("torch", "Size").mark().mark().integer(3).tuple().tuple().reduce()
        .mark().integer(1).tuple().tuple().reduce();
    p.setitems().stop();
    byte[] half = {0x00, 0x3c, 0x00, (byte) 0xc0, 0x00, 0x7c, 0x01, 0x00}; // 1, -2, inf, 2^-24
    java.nio.file.Path file = TorchTestFiles.writeZip(tmp.resolve("types.pth"), "types", p.bytes(), Map.of(
        "0", half, "1", new byte[] {1, 2, (byte) 255, 4}, "2", new byte[] {0, 0, (byte) 0x80, 0x3f},
        "3", new byte[] {1, 0, 7}));
    Map<String, HostTensor> sd = TorchCheckpoint.read(file, false, null).stateDict();
    assertEquals(List.of("half", "half_tail", "untyped", "cuda", "param", "param_state", "subclass", "sized"),
        new ArrayList<>(sd.keySet()));
    assertArrayEquals(new float[] {1f, -2f}, sd.get("half").toFloats());
    assertArrayEquals(new float[] {Float.POSITIVE_INFINITY, 0x1p-24f}, sd.get("half_tail").toFloats());
    assertEquals("F16", sd.get("half").dtype());
    assertEquals("U8", sd.get("untyped").dtype());
    assertArrayEquals(new long[] {1, 255, 2, 4}, sd.get("untyped").toLongs()); // column-major view
    assertArrayEquals(new long[] {}, sd.get("cuda").shape());
    for (String k : List.of("cuda", "param", "param_state", "subclass")) {
      assertArrayEquals(new float[] {1f}, sd.get(k).toFloats(), k);
    }
    assertEquals("BOOL", sd.get("sized").dtype());
    assertArrayEquals(new long[] {1, 0, 1}, sd.get("sized").toLongs());
  }

  @Test
  void emaOnlyCheckpointNeedsTheEmaFlag(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
    PickleBuilder p = new PickleBuilder().proto(2).emptyDict().mark().str("model_ema").orderedDict().mark()
        .str("w").tensor("FloatStorage", "0", 1, 0, new long[] {1}, new long[] {1}).setitems()
        .str("epoch").integer(3).setitems().stop();
    java.nio.file.Path file = TorchTestFiles.writeZip(tmp.resolve("ema_only.pth"), "archive", p.bytes(),
        Map.of("0", new byte[4]));
    var e = org.junit.jupiter.api.Assertions.assertThrows(io.resttf.tensor.BadInputException.class,
        () -> TorchCheckpoint.read(file, false, null));
    TorchTestFiles.assertOneLine(e, file);
    assertTrue(e.getMessage().contains("only EMA weights ('model_ema')"), e.getMessage());
    TorchCheckpoint c = TorchCheckpoint.read(file, true, null);
    assertEquals("['model_ema']", c.wrapper());
    assertEquals(List.of("epoch"), c.otherEntries());
  }

  @Test
  void halfConversionIsExactForAllBitPatterns() {
    for (int h = 0; h < 1 << 16; h++) {
      float mine = TorchMaterializer.halfToFloat(h);
      float other = Safetensors.halfToFloat((short) h); // independent implementation
      if (Float.isNaN(mine)) {
        assertTrue(Float.isNaN(other), "bits " + h);
      } else {
        assertEquals(Float.floatToRawIntBits(other), Float.floatToRawIntBits(mine), "bits " + Integer.toHexString(h));
      }
    }
    assertEquals(1.0f, TorchMaterializer.halfToFloat(0x3c00));
    assertEquals(0x1p-24f, TorchMaterializer.halfToFloat(0x0001));
    assertEquals(65504f, TorchMaterializer.halfToFloat(0x7bff));
    assertEquals(Float.NEGATIVE_INFINITY, TorchMaterializer.halfToFloat(0xfc00));
    assertEquals(0x80000000, Float.floatToRawIntBits(TorchMaterializer.halfToFloat(0x8000)));
  }

  /** Keys in order, source dtype, shape and exact bits of every element. */
  static void assertMatches(JsonNode expected, Map<String, HostTensor> actual) {
    List<String> keys = new ArrayList<>();
    expected.fieldNames().forEachRemaining(keys::add);
    assertEquals(keys, new ArrayList<>(actual.keySet()));
    for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      HostTensor t = actual.get(e.getKey());
      JsonNode x = e.getValue();
      String what = e.getKey();
      assertEquals(x.get("dtype").asText(), t.dtype(), what);
      long[] shape = new long[x.get("shape").size()];
      for (int i = 0; i < shape.length; i++) shape[i] = x.get("shape").get(i).asLong();
      assertArrayEquals(shape, t.shape(), what);
      JsonNode v = x.get("values");
      assertEquals(v.size(), t.size(), what);
      switch (t.dtype()) {
        case "F32", "F16", "BF16" -> {
          float[] f = t.toFloats();
          for (int i = 0; i < f.length; i++) {
            assertEquals(v.get(i).asLong(), Float.floatToRawIntBits(f[i]) & 0xffffffffL, what + "[" + i + "]");
          }
        }
        case "F64" -> {
          double[] d = t.toDoubles();
          for (int i = 0; i < d.length; i++) {
            assertEquals(v.get(i).bigIntegerValue().longValue(), Double.doubleToRawLongBits(d[i]), what + "[" + i + "]");
          }
        }
        default -> {
          assertFalse(t.isFloating(), what);
          long[] l = t.toLongs();
          for (int i = 0; i < l.length; i++) assertEquals(v.get(i).asLong(), l[i], what + "[" + i + "]");
        }
      }
    }
  }
}
