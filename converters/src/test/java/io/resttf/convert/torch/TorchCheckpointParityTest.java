package io.resttf.convert.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shared reference checkpoints (every wrapping and storage kind of real ResT releases, written by real
 * torch): each weights.pth must give exactly the keys, shapes and bit-identical values of weights.safetensors.
 */
public class TorchCheckpointParityTest {

  /** case → expected wrapper, format, storage dtype (fixtures README table). */
  private static final Map<String, String[]> EXPECTED = Map.of(
      "rest_lite-narrow", new String[] {"plain state_dict", "zip", "F32"},
      "rest_small-narrow", new String[] {"plain state_dict", "zip", "F16"},
      "rest_base-narrow", new String[] {"['state_dict'], 'module.' prefixes stripped", "zip", "F32"},
      "rest_large-narrow", new String[] {"plain state_dict", "legacy", "F32"},
      "restv2_tiny-narrow", new String[] {"['model']", "zip", "F32"},
      "restv2_small-narrow", new String[] {"['model']", "zip", "F32"},
      "restv2_base-narrow", new String[] {"['model']", "zip", "BF16"},
      "restv2_large-narrow", new String[] {"['model']", "zip", "F32"});

  static List<String> cases() {
    return Fixtures.parityCases().stream()
        .filter(c -> Files.exists(Fixtures.parity(c).resolve("weights.safetensors"))).toList();
  }

  @ParameterizedTest
  @MethodSource("cases")
  void pthEqualsSafetensorsBitForBit(String caseName) {
    Path dir = Fixtures.parity(caseName);
    TorchCheckpoint ckpt = TorchCheckpoint.read(dir.resolve("weights.pth"), false, null);
    LinkedHashMap<String, HostTensor> ref = Safetensors.read(dir.resolve("weights.safetensors"));

    assertEquals(new java.util.TreeSet<>(ref.keySet()), new java.util.TreeSet<>(ckpt.stateDict().keySet()), caseName);
    assertEquals(ref.size(), ckpt.stateDict().size());
    for (Map.Entry<String, HostTensor> e : ckpt.stateDict().entrySet()) {
      assertSameTensor(ref.get(e.getKey()), e.getValue(), caseName + " " + e.getKey());
    }

    String[] exp = EXPECTED.get(caseName);
    assertTrue(exp != null, "fixture case not in the README table: " + caseName);
    assertEquals(exp[0], ckpt.wrapper(), caseName);
    assertTrue(ckpt.format().contains(exp[1]), ckpt.format());
    long withDtype = ckpt.stateDict().values().stream().filter(t -> t.dtype().equals(exp[2])).count();
    long floating = ckpt.stateDict().values().stream().filter(HostTensor::isFloating).count();
    assertEquals(floating, withDtype, caseName + ": every floating tensor should be stored as " + exp[2]);
    // num_batches_tracked: int64 scalars
    ckpt.stateDict().forEach((k, t) -> {
      if (k.endsWith("num_batches_tracked")) {
        assertEquals("I64", t.dtype());
        assertEquals(0, t.rank());
      }
    });

    // file order is the official module order, as in the variant's manifest
    String variant = Fixtures.json(dir.resolve("config.json")).get("variant").asText();
    assertEquals(manifestKeys(variant), new ArrayList<>(ckpt.stateDict().keySet()), caseName + " key order");
  }

  @Test
  void wrappersReportTheirOtherEntries() {
    TorchCheckpoint base = TorchCheckpoint.read(Fixtures.parity("rest_base-narrow").resolve("weights.pth"), false, null);
    assertEquals(List.of("epoch"), base.otherEntries());
    assertFalse(base.hasEma());

    TorchCheckpoint training = TorchCheckpoint.read(Fixtures.parity("restv2_small-narrow").resolve("weights.pth"),
        false, null);
    assertTrue(training.hasEma());
    assertTrue(training.otherEntries().containsAll(List.of("model_ema", "optimizer", "epoch", "args")),
        training.otherEntries().toString());
  }

  @Test
  void emaFlagPicksModelEma() {
    Path pth = Fixtures.parity("restv2_small-narrow").resolve("weights.pth");
    TorchCheckpoint model = TorchCheckpoint.read(pth, false, null);
    TorchCheckpoint ema = TorchCheckpoint.read(pth, true, null);
    assertEquals("['model_ema']", ema.wrapper());
    assertEquals(new ArrayList<>(model.stateDict().keySet()), new ArrayList<>(ema.stateDict().keySet()));
    assertEquals(manifestKeys("restv2_small").size(), ema.stateDict().size());
    int differing = 0;
    for (String k : model.stateDict().keySet()) {
      HostTensor a = model.stateDict().get(k);
      HostTensor b = ema.stateDict().get(k);
      assertArrayEquals(a.shape(), b.shape(), k);
      if (a.isFloating() && !java.util.Arrays.equals(a.toFloats(), b.toFloats())) {
        differing++;
      }
    }
    assertTrue(differing > model.stateDict().size() / 2, "EMA weights should differ from 'model': " + differing);
  }

  @Test
  void emaOnAFileWithoutEmaIsAClearError() {
    Path pth = Fixtures.parity("restv2_tiny-narrow").resolve("weights.pth");
    BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(pth, true, null));
    TorchTestFiles.assertOneLine(e, pth);
    assertTrue(e.getMessage().contains("model_ema"), e.getMessage());
    Path plain = Fixtures.parity("rest_lite-narrow").resolve("weights.pth");
    BadInputException e2 = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(plain, true, null));
    assertTrue(e2.getMessage().contains("plain state_dict"), e2.getMessage());
  }

  @Test
  void restLiteFullMatchesTheManifest() {
    TorchCheckpoint ckpt = TorchCheckpoint.read(Fixtures.parity("rest_lite-full").resolve("weights.pth"), false, null);
    JsonNode sd = Fixtures.json(Fixtures.manifest("rest_lite")).get("state_dict");
    assertEquals(194, sd.size());
    assertEquals(sd.size(), ckpt.stateDict().size());
    int i = 0;
    long params = 0;
    for (Map.Entry<String, HostTensor> e : ckpt.stateDict().entrySet()) {
      JsonNode m = sd.get(i++);
      assertEquals(m.get(0).asText(), e.getKey());
      long[] shape = new long[m.get(1).size()];
      for (int d = 0; d < shape.length; d++) shape[d] = m.get(1).get(d).asLong();
      assertArrayEquals(shape, e.getValue().shape(), e.getKey());
      assertEquals(m.get(2).asText().equals("int64") ? "I64" : "F32", e.getValue().dtype(), e.getKey());
      if (e.getValue().isFloating()) {
        params += e.getValue().size();
      }
    }
    assertTrue(params >= 10_508_300L, "parameters (plus buffers) " + params);
  }

  @Test
  void fashionCheckpointLoadsWithProgress() throws Exception {
    Path pth = Fixtures.root().resolve("fashion-restv2-micro").resolve("weights.pth");
    List<long[]> calls = new ArrayList<>();
    TorchCheckpoint ckpt = TorchCheckpoint.read(pth, false, (done, total) -> calls.add(new long[] {done, total}));
    assertEquals("['model']", ckpt.wrapper());
    assertTrue(ckpt.otherEntries().contains("epoch"));
    assertTrue(ckpt.stateDict().size() > 50, "keys: " + ckpt.stateDict().size());
    long floats = 0;
    for (HostTensor t : ckpt.stateDict().values()) {
      if (t.isFloating()) {
        for (float f : t.toFloats()) assertTrue(Float.isFinite(f));
        floats += t.size();
      }
    }
    assertFalse(calls.isEmpty());
    long[] last = calls.get(calls.size() - 1);
    assertEquals(last[1], last[0], "progress ends at the total");
    for (int i = 1; i < calls.size(); i++) assertTrue(calls.get(i)[0] >= calls.get(i - 1)[0]);
    assertTrue(last[1] >= floats * 4 && last[1] <= Files.size(pth) + 0L, "total bytes " + last[1]);
  }

  static List<String> manifestKeys(String variant) {
    List<String> keys = new ArrayList<>();
    for (JsonNode e : Fixtures.json(Fixtures.manifest(variant)).get("state_dict")) keys.add(e.get(0).asText());
    return keys;
  }

  public static void assertSameTensor(HostTensor expected, HostTensor actual, String what) {
    assertTrue(expected != null, what + " missing from the reference");
    assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
    assertEquals(expected.isFloating(), actual.isFloating(), what + " kind");
    if (actual.isFloating()) {
      float[] e = expected.toFloats();
      float[] a = actual.toFloats();
      for (int i = 0; i < e.length; i++) {
        if (Float.floatToRawIntBits(e[i]) != Float.floatToRawIntBits(a[i])) {
          throw new AssertionError(what + " element " + i + ": expected " + e[i] + " got " + a[i]);
        }
      }
    } else {
      assertArrayEquals(expected.toLongs(), actual.toLongs(), what);
    }
  }
}
