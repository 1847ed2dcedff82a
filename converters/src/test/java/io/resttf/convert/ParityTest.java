package io.resttf.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.Family;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The graphs reproduce the official float64 references: logits and all four stage outputs, for every
 * narrow parity case (weights from weights.safetensors) and both input sizes.
 */
@Tag("parity")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParityTest {
  static final double V2_TOLERANCE = 1e-4;
  static final double V1_TOLERANCE = 5e-4;

  static List<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (String c : Fixtures.parityCases()) {
      if (Files.exists(Fixtures.parity(c).resolve("weights.safetensors"))) out.add(Arguments.of(c));
    }
    return out;
  }

  @ParameterizedTest
  @MethodSource("cases")
  void matchesOfficialReferences(String caseName) {
    Path dir = Fixtures.parity(caseName);
    RestConfig config = RestConfig.read(dir.resolve("config.json"));
    Map<String, HostTensor> weights = Safetensors.read(dir.resolve("weights.safetensors"));
    try (RestModel model = RestModel.create(config)) {
      model.load(weights);
      assertMatchesReferences(model, dir, "logits");
    }
  }

  /**
   * With blocks built a second time on two bands of token rows for one image (what {@code resttf.splitBlocks}
   * turns on; "auto" does with one intra-op thread), every case still reproduces the float64 references on
   * input 1 (batch 1, 160 × 96: odd band heights at stage 4), which runs the bands, as a traced run confirms for
   * every block (ResT v1's with their heads' InstanceNorm shared across the bands). Every convolution runs on bands
   * too ({@code resttf.splitConvs=all}: the narrow models' convolutions are all below the default rule's size; the
   * rule itself: {@link #restLiteFullMatchesWithBlocksAndConvolutionsOnBandsAtBatch1}). Input 0 (batch 2) runs the
   * whole blocks, checked above. Not repeated under AVX2: the bands run the kernels the whole blocks run.
   */
  @ParameterizedTest
  @MethodSource("cases")
  void matchesOfficialReferencesWithBlocksOnTwoBandsOfRowsAtBatch1(String caseName) {
    org.junit.jupiter.api.Assumptions.assumeFalse("AVX2".equals(System.getenv("ONEDNN_MAX_CPU_ISA")), "kernels as above");
    Path dir = Fixtures.parity(caseName);
    RestConfig config = RestConfig.read(dir.resolve("config.json"));
    Map<String, HostTensor> weights = Safetensors.read(dir.resolve("weights.safetensors"));
    withBands("all", () -> {
      try (RestModel model = RestModel.create(config)) {
        model.load(weights);
        assertMatchesReference(model, dir, "logits", 1);
        HostTensor one = Layouts.nchwToNhwc(Npy.read(dir.resolve("input_1.npy")));
        assertEquals(1, one.shape()[0], "input 1 is a single image");
        try (org.tensorflow.types.TFloat32 x = io.resttf.tensor.TfTensors.toTf(one);
             org.tensorflow.Result r = tracedLogits(model, x)) {
          assertEquals(config.totalBlocks(), executed(r, "/" + io.resttf.model.RestNetwork.BLOCK_ROWS_SPLIT_OP),
              caseName + ": every block runs on two bands of rows");
          // the stem's three (v1) or two (v2) 3×3 convolutions and three patch embeddings
          assertEquals(config.family() == Family.V1 ? 6 : 5, executed(r, "/" + io.resttf.model.RestNetwork.CONV_ROWS_SPLIT_OP),
              caseName + ": every 3×3 convolution runs on two bands of rows");
        }
      }
    });
  }

  /**
   * rest_lite at 224², batch 1, with bands on and the default rule: the blocks and the five convolutions of 58-115 M
   * multiply-adds (the stem's second and third, the patch embeddings) run on two bands of rows and reproduce the
   * official float64 logits.
   */
  @Test
  void restLiteFullMatchesWithBlocksAndConvolutionsOnBandsAtBatch1() {
    org.junit.jupiter.api.Assumptions.assumeFalse("AVX2".equals(System.getenv("ONEDNN_MAX_CPU_ISA")), "kernels as above");
    Path dir = Fixtures.parity("rest_lite-full");
    Conversion c = Conversion.load(Conversion.Request.of(dir.resolve("weights.pth"), null), null);
    Map<String, HostTensor> weights;
    try (RestModel converted = c.model()) {
      weights = converted.stateDict();
    }
    withBands("true", () -> {
      try (RestModel model = RestModel.create(c.config());
           org.tensorflow.types.TFloat32 x = io.resttf.tensor.TfTensors.toTf(
               Layouts.nchwToNhwc(Npy.read(dir.resolve("input_0.npy"))));
           org.tensorflow.Result r = tracedLogits(withWeights(model, weights), x)) {
        assertEquals(5, executed(r, "/" + io.resttf.model.RestNetwork.CONV_ROWS_SPLIT_OP), "convolutions on bands");
        assertEquals(8, executed(r, "/" + io.resttf.model.RestNetwork.BLOCK_ROWS_SPLIT_OP), "blocks on bands");
        HostTensor logits = io.resttf.tensor.TfTensors.toHost((org.tensorflow.types.TFloat32) r.get(0));
        assertClose(Npy.read(dir.resolve("logits_0.npy")), logits, V1_TOLERANCE * 5, false, "rest_lite-full on bands");
      }
    });
  }

  private static RestModel withWeights(RestModel model, Map<String, HostTensor> weights) {
    model.load(weights);
    return model;
  }

  /** Runs body with blocks on bands ({@code resttf.splitBlocks=true}) and {@code resttf.splitConvs=convs}. */
  private static void withBands(String convs, Runnable body) {
    io.resttf.testing.SystemProperties.run(Map.of("resttf.splitBlocks", "true", "resttf.splitConvs", convs), body);
  }

  /** Every case through its weights.pth (each wrapper, legacy format, fp16/bf16), config detected. */
  @ParameterizedTest
  @MethodSource("allCases")
  void matchesOfficialReferencesFromPth(String caseName) {
    Path dir = Fixtures.parity(caseName);
    Conversion c = Conversion.load(Conversion.Request.of(dir.resolve("weights.pth"), null), null);
    try (RestModel model = c.model()) {
      assertEquals(RestConfig.read(dir.resolve("config.json")), model.config());
      assertMatchesReferences(model, dir, "logits");
    }
  }

  static List<String> allCases() {
    return Fixtures.parityCases();
  }

  @Test
  void emaWeightsOfATrainingCheckpoint() {
    Path dir = Fixtures.parity("restv2_small-narrow");
    RestConfig config = RestConfig.read(dir.resolve("config.json"));
    Conversion c = Conversion.load(new Conversion.Request(dir.resolve("weights.pth"), config, true, null, null), null);
    try (RestModel model = c.model()) {
      for (int k = 0; k < 2; k++) {
        HostTensor x = Layouts.nchwToNhwc(Npy.read(dir.resolve("input_" + k + ".npy")));
        assertClose(Npy.read(dir.resolve("logits_ema_" + k + ".npy")), model.forward(x).logits(), V2_TOLERANCE, false, "ema " + k);
      }
    }
  }

  /**
   * rest_lite at 224², batch 1: its stage-3 MLPs run on two halves of their rows (the inference graph's
   * answer to oneDNN running them on one thread, RestNetwork.MLP_ROWS_SPLIT_OP), and that run reproduces
   * the official float64 logits.
   */
  @Test
  void restLiteFullMatchesWithItsStage3MlpsOnHalvesOfTheRows() {
    Path dir = Fixtures.parity("rest_lite-full");
    Conversion c = Conversion.load(Conversion.Request.of(dir.resolve("weights.pth"), null), null);
    try (RestModel model = c.model();
         org.tensorflow.types.TFloat32 x = io.resttf.tensor.TfTensors.toTf(
             Layouts.nchwToNhwc(Npy.read(dir.resolve("input_0.npy"))));
         org.tensorflow.Result r = tracedLogits(model, x)) {
      assertEquals(2, executed(r, "mlp/" + io.resttf.model.RestNetwork.MLP_ROWS_SPLIT_OP), "stage-3 MLPs run on halves of their rows");
      HostTensor logits = io.resttf.tensor.TfTensors.toHost((org.tensorflow.types.TFloat32) r.get(0));
      assertClose(Npy.read(dir.resolve("logits_0.npy")), logits, V1_TOLERANCE * 5, false, "rest_lite-full split MLPs");
    }
  }

  /** A converted TF checkpoint restores into a fresh graph and still reproduces the references. */
  @Test
  void tfCheckpointRoundTrip(@TempDir Path tmp) {
    Path dir = Fixtures.parity("rest_base-narrow");
    Path out = tmp.resolve("converted");
    Conversion c = Conversion.load(Conversion.Request.of(dir.resolve("weights.pth"), null), null);
    try (RestModel model = c.model()) {
      c.writeTfCheckpoint(out, false);
    }
    assertTrue(Files.exists(out.resolve("checkpoint/model.ckpt.index")));
    try (RestModel restored = Conversion.openTfCheckpoint(out)) {
      assertMatchesReferences(restored, dir, "logits");
    }
  }

  /** The model's logits for x, run with full tracing (the caller closes the result). */
  private static org.tensorflow.Result tracedLogits(RestModel model, org.tensorflow.types.TFloat32 x) {
    return model.session().runner().feed(model.network().input(), x).fetch(model.network().logits())
        .setOptions(org.tensorflow.proto.RunOptions.newBuilder()
            .setTraceLevel(org.tensorflow.proto.RunOptions.TraceLevel.FULL_TRACE).build())
        .runAndFetchMetadata();
  }

  /** How many nodes a traced run executed whose name ends with {@code suffix}. */
  private static long executed(org.tensorflow.Result traced, String suffix) {
    return traced.getMetadata().orElseThrow().getStepStats().getDevStatsList().stream()
        .flatMap(d -> d.getNodeStatsList().stream()).filter(n -> n.getNodeName().endsWith(suffix)).count();
  }

  /** Checks every input_K.npy of the case folder against logits (or logits_ema) and stage references. */
  static void assertMatchesReferences(RestModel model, Path dir, String logitsName) {
    JsonNode cfg = Fixtures.json(dir.resolve("config.json"));
    for (JsonNode input : cfg.get("inputs")) assertMatchesReference(model, dir, logitsName, input.get("k").asInt());
  }

  /** Checks input_K.npy of the case folder against logits (or logits_ema) and stage references. */
  static void assertMatchesReference(RestModel model, Path dir, String logitsName, int k) {
    double tol = model.config().family() == Family.V1 ? V1_TOLERANCE : V2_TOLERANCE;
    double logitsTol = tol * (dir.getFileName().toString().endsWith("-full") ? 5 : 1);
    {
      HostTensor x = Layouts.nchwToNhwc(Npy.read(dir.resolve("input_" + k + ".npy")));
      RestModel.Outputs out = model.forward(x);
      assertClose(Npy.read(dir.resolve(logitsName + "_" + k + ".npy")), out.logits(), logitsTol, false, dir + " " + logitsName + " " + k);
      for (int s = 0; s < 4; s++) {
        assertClose(Npy.read(dir.resolve("stage" + (s + 1) + "_" + k + ".npy")), out.stages().get(s), tol, true,
            dir + " stage" + (s + 1) + " " + k);
      }
    }
  }

  /** max |a - b| ≤ tol, or with {@code relative} max |a - b| / max(1, max |ref|) ≤ tol; shapes equal. */
  /** The case folders under {@code root} that hold {@code file}, sorted; at least {@code min} of them. */
  static List<String> caseFolders(Path root, String file, int min) {
    try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(root)) {
      List<String> out = s.filter(p -> java.nio.file.Files.exists(p.resolve(file)))
          .map(p -> p.getFileName().toString()).sorted().toList();
      assertTrue(out.size() >= min, "parity cases missing under " + root + ": " + out.size() + " < " + min);
      return out;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static void assertClose(HostTensor ref, HostTensor actual, double tol, boolean relative, String what) {
    assertArrayEquals(ref.shape(), actual.shape(), what + ": shape");
    float[] r = ref.toFloats(), a = actual.toFloats();
    double maxRef = 0, maxErr = 0;
    for (int i = 0; i < r.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(r[i]));
      maxErr = Math.max(maxErr, Math.abs(r[i] - a[i]));
      assertTrue(Float.isFinite(a[i]), what + ": non-finite output");
    }
    double err = relative ? maxErr / Math.max(1, maxRef) : maxErr;
    System.out.printf("%s: max abs err %.3g (scaled %.3g, tol %.1g)%n", what, maxErr, err, tol);
    assertTrue(err <= tol, what + ": error " + err + " > " + tol);
  }
}
