package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ForwardCommandTest {
  static final Path CASE = Fixtures.parity("restv2_tiny-narrow");

  static String[] forward(Path out, String weights, String... more) {
    String[] base = {"forward", "--config", CASE.resolve("config.json").toString(), "--weights", weights,
        "--input", CASE.resolve("input_1.npy").toString(), "--layout", "nchw", "--out", out.toString()};
    String[] all = new String[base.length + more.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  static void assertClose(HostTensor expected, HostTensor actual, double tol, String what) {
    assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
    float[] e = expected.toFloats(), a = actual.toFloats();
    double max = 0;
    for (int i = 0; i < e.length; i++) max = Math.max(max, Math.abs(e[i] - a[i]));
    assertTrue(max <= tol, what + ": max abs error " + max + " > " + tol);
  }

  @Test
  void safetensorsWeightsGiveTheReferenceOutputs(@TempDir Path tmp) {
    Path out = tmp.resolve("new/dir");
    CliRun r = CliRun.of(forward(out, CASE.resolve("weights.safetensors").toString())).ok();
    assertClose(Npy.read(CASE.resolve("logits_1.npy")), Npy.read(out.resolve("logits.npy")), 1e-4, "logits");
    long[][] shapes = {{1, 40, 24, 12}, {1, 20, 12, 24}, {1, 10, 6, 48}, {1, 5, 3, 96}};
    for (int s = 1; s <= 4; s++) {
      HostTensor got = Npy.read(out.resolve("stage" + s + ".npy"));
      assertArrayEquals(shapes[s - 1], got.shape(), "stage" + s);
      assertClose(Npy.read(CASE.resolve("stage" + s + "_1.npy")), got, 1e-4, "stage" + s);
    }
    assertFalse(Files.exists(out.resolve("pooled.npy")));
    assertTrue(r.out().contains("logits.npy   [1, 10]"), r.out());
    assertTrue(r.out().contains("stage4.npy   [1, 5, 3, 96]"), r.out());
    int best = argmax(Npy.read(CASE.resolve("logits_1.npy")).toFloats());
    assertTrue(r.out().contains("top-1 row 0: class " + best + " "), r.out());
  }

  @Test
  void pthWeightsGiveTheSameLogits(@TempDir Path tmp) {
    CliRun.of(forward(tmp, CASE.resolve("weights.pth").toString())).ok();
    assertClose(Npy.read(CASE.resolve("logits_1.npy")), Npy.read(tmp.resolve("logits.npy")), 1e-4, "logits");
  }

  @Test
  void weightsAreRecognisedByContent(@TempDir Path tmp) throws Exception {
    Path renamed = tmp.resolve("weights.bin");
    Files.copy(CASE.resolve("weights.safetensors"), renamed);
    Path out = tmp.resolve("out");
    CliRun.of(forward(out, renamed.toString())).ok();
    assertClose(Npy.read(CASE.resolve("logits_1.npy")), Npy.read(out.resolve("logits.npy")), 1e-4, "logits");
  }

  @Test
  void modelIsDetectedFromTheWeightsWithoutVariantOrConfig(@TempDir Path tmp) {
    CliRun r = CliRun.of("forward", "--weights", CASE.resolve("weights.safetensors").toString(), "--input",
        CASE.resolve("input_1.npy").toString(), "--layout", "nchw", "--out", tmp.toString()).ok();
    assertTrue(r.out().contains("restv2_tiny (widths / 8) (detected from the weights)"), r.out());
    assertClose(Npy.read(CASE.resolve("logits_1.npy")), Npy.read(tmp.resolve("logits.npy")), 1e-4, "logits");
  }

  @Test
  void nhwcInputIsTheDefault(@TempDir Path tmp) {
    HostTensor nhwc = io.resttf.tensor.Layouts.nchwToNhwc(Npy.read(CASE.resolve("input_1.npy")));
    Path in = tmp.resolve("x.npy");
    Npy.write(in, nhwc);
    Path out = tmp.resolve("out");
    CliRun.of("forward", "--config", CASE.resolve("config.json").toString(), "--weights",
        CASE.resolve("weights.safetensors").toString(), "--input", in.toString(), "--out", out.toString()).ok();
    assertClose(Npy.read(CASE.resolve("logits_1.npy")), Npy.read(out.resolve("logits.npy")), 1e-4, "logits");
  }

  @Test
  void withoutHeadWritesPooledFeatures(@TempDir Path tmp) throws Exception {
    String json = Files.readString(CASE.resolve("config.json")).replace("\"num_classes\": 10", "\"num_classes\": 0");
    Path config = tmp.resolve("config.json");
    Files.writeString(config, json);
    Map<String, HostTensor> sd = new LinkedHashMap<>(Safetensors.read(CASE.resolve("weights.safetensors")));
    sd.keySet().removeIf(k -> k.startsWith("head."));
    Path weights = tmp.resolve("backbone.safetensors");
    Safetensors.write(weights, sd, null);
    Path out = tmp.resolve("out");
    CliRun r = CliRun.of("forward", "--config", config.toString(), "--weights", weights.toString(),
        "--input", CASE.resolve("input_1.npy").toString(), "--layout", "NCHW", "--out", out.toString()).ok();
    assertArrayEquals(new long[] {1, 96}, Npy.read(out.resolve("pooled.npy")).shape());
    assertFalse(Files.exists(out.resolve("logits.npy")));
    assertTrue(Files.exists(out.resolve("stage4.npy")));
    assertFalse(r.out().contains("top-1"), r.out());
  }

  static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
    return best;
  }

  @Test
  void argmaxHelper() {
    assertEquals(2, argmax(new float[] {0, 1, 3, 2}));
  }
}
