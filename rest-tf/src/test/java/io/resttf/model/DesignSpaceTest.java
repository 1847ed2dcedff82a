package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.DesignSpace.PositionEncoding;
import io.resttf.model.DesignSpace.Reduction;
import io.resttf.model.DesignSpace.Upsample;
import io.resttf.model.DesignSpace.UpsampleTarget;
import io.resttf.model.DesignSpace.WindowStyle;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The design-space options as config keys, the invalid combinations, and the window styles' exact
 * relations to the plain model (their float64 parity is DesignSpaceParityTest in converters).
 */
class DesignSpaceTest {
  /** A narrow ResTv2 (the parity fixtures' shape). */
  static final RestConfig V2 = RestConfig.of(Family.V2, List.of(8, 16, 24, 32), List.of(1, 2, 4, 8),
      List.of(2, 2, 2, 2), List.of(8, 4, 2, 1), List.of(4, 4, 4, 4), 10, 3);
  static final RestConfig V1 = RestConfig.of(Family.V1, List.of(8, 16, 24, 32), List.of(1, 2, 4, 8),
      List.of(2, 2, 2, 2), List.of(8, 4, 2, 1), List.of(4, 4, 4, 4), 10, 3);

  static String base(String family) {
    return "{\"family\": \"" + family + "\", \"embed_dims\": [8, 16, 24, 32], \"num_heads\": [1, 2, 4, 8],"
        + " \"depths\": [2, 2, 2, 2], \"sr_ratios\": [8, 4, 2, 1], \"mlp_ratios\": [4, 4, 4, 4], \"num_classes\": 10,"
        + " \"in_chans\": 3";
  }

  static String refused(String json) {
    return assertThrows(BadInputException.class, () -> RestConfig.fromJson(json, "c.json")).getMessage();
  }

  @Test
  void defaultsAreTheOfficialModels() {
    RestConfig v2 = RestConfig.fromJson(base("v2") + "}", "c.json");
    assertEquals(Reduction.DWCONV, v2.reduction());
    assertEquals(PositionEncoding.PA, v2.positionEncoding());
    assertEquals(Upsample.PIXEL_SHUFFLE, v2.upsample());
    assertEquals(UpsampleTarget.V, v2.upsampleTarget());
    assertTrue(v2.attention());
    assertFalse(v2.applyTransform());
    assertEquals(WindowStyle.GLOBAL, v2.windowStyle());
    assertEquals(List.of(64, 32, 16, 8), v2.windowSizes());
    RestConfig v1 = RestConfig.fromJson(base("v1") + "}", "c.json");
    assertEquals(Upsample.NONE, v1.upsample());
    assertTrue(v1.applyTransform());
    assertEquals(V2, v2);
    assertEquals(V1, v1);
  }

  @Test
  void everyOptionParsesAndRoundTrips() {
    String json = base("v2") + ", \"reduction\": \"max\", \"position_encoding\": \"gl\", \"apply_transform\": true,"
        + " \"upsample\": \"bilinear\", \"upsample_target\": \"k\", \"window_style\": \"hwin\","
        + " \"window_sizes\": [16, 8, 4, 2]}";
    RestConfig c = RestConfig.fromJson(json, "c.json");
    assertEquals(Reduction.MAX, c.reduction());
    assertEquals(PositionEncoding.GL, c.positionEncoding());
    assertEquals(Upsample.BILINEAR, c.upsample());
    assertEquals(UpsampleTarget.K, c.upsampleTarget());
    assertEquals(WindowStyle.HWIN, c.windowStyle());
    assertEquals(List.of(16, 8, 4, 2), c.windowSizes());
    assertTrue(c.toJson().contains("\"upsample\" : \"bilinear\""), c.toJson());
    assertEquals(c, RestConfig.fromJson(c.toJson(), "again.json"));
    RestConfig convnet = RestConfig.fromJson(base("v2") + ", \"attention\": false, \"upsample_target\": \"x\"}", "c");
    assertFalse(convnet.attention());
    assertEquals(convnet, RestConfig.fromJson(convnet.toJson(), "again.json"));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "v1 | \"window_style\": \"win\" | c.json: config: window_style \"win\" is for ResTv2 backbones; ResT (v1) attends globally",
      "v1 | \"upsample\": \"nearest\" | c.json: config: upsample \"nearest\" is a ResTv2 option; ResT (v1) has no upsample branch (use \"none\")",
      "v1 | \"upsample_target\": \"k\" | c.json: config: upsample_target is a ResTv2 option; ResT (v1) has no upsample branch",
      "v1 | \"attention\": false | c.json: config: attention=false (the ConvNet variant) is a ResTv2 option",
      "v2 | \"window_sizes\": [64, 32, 16] | c.json: config: window_sizes must have 4 entries, got 3",
      "v2 | \"window_sizes\": [60, 32, 16, 8] | c.json: config: window_sizes[0]=60 must be a multiple of sr_ratios[0]=8 (each window is reduced on its own)",
      "v2 | \"window_sizes\": [64, 32, 16, 0] | c.json: config: window_sizes entries must be integers between 1 and 4096, got [64, 32, 16, 0]",
      "v2 | \"upsample\": \"bicubic\" | c.json: upsample must be one of \"pixel-shuffle\", \"nearest\", \"bilinear\", \"none\", got \"bicubic\"",
      "v2 | \"reduction\": \"conv\" | c.json: reduction must be one of \"dwconv\", \"avg\", \"max\", got \"conv\"",
      "v2 | \"window_style\": \"swin\" | c.json: window_style must be one of \"global\", \"win\", \"cwin\", \"hwin\", got \"swin\"",
      "v2 | \"position_encoding\": 1 | c.json: position_encoding must be one of \"pa\", \"gl\", \"none\", got 1",
      "v2 | \"attention\": false, \"upsample\": \"none\" | c.json: config: attention=false keeps only the upsample branch, so upsample cannot be \"none\"",
      "v2 | \"attention\": false, \"upsample_target\": \"k\" | c.json: config: attention=false has no keys to upsample; upsample_target must be \"v\" or \"x\"",
      "v2 | \"attention\": \"no\" | c.json: attention must be true or false, got \"no\"",
      "v2 | \"window_stile\": \"win\" | c.json: unknown config key \"window_stile\" (did you mean window_style?)",
  })
  void invalidCombinationsAreOneClearLine(String family, String extra, String message) {
    String m = refused(base(family) + ", " + extra + "}");
    assertEquals(message, m);
    assertFalse(m.contains("\n"));
  }

  /** window_style "global" (written out, with any window sizes) is the plain model: same graph, same numbers. */
  @Test
  void globalIsThePlainModel() {
    RestConfig global = V2.withWindows(WindowStyle.GLOBAL, List.of(8, 4, 2, 1));
    HostTensor x = input(2, 96, 128);
    float[] plain = logits(V2, x, 7), explicit = logits(global, x, 7);
    assertArrayEquals(plain, explicit, 0f);
  }

  /** Windows at least as large as every stage's grid leave one window per image: win computes global's numbers. */
  @Test
  void windowsAsLargeAsEveryStageAreGlobal() {
    HostTensor x = input(2, 96, 128); // stage grids 24×32 … 3×4
    float[] global = logits(V2, x, 5);
    float[] big = logits(V2.withWindows(WindowStyle.WIN, List.of(32, 16, 8, 4)), x, 5);
    float[] huge = logits(V2.withWindows(WindowStyle.WIN, List.of(4096, 4096, 4096, 4096)), x, 5);
    assertArrayEquals(global, big, 1e-6f);
    assertArrayEquals(global, huge, 1e-6f);
    // and windows smaller than the grid do change the function (the test above is not vacuous)
    float[] small = logits(V2.withWindows(WindowStyle.WIN, List.of(16, 8, 4, 2)), x, 5);
    double diff = 0;
    for (int i = 0; i < small.length; i++) diff = Math.max(diff, Math.abs(small[i] - global[i]));
    assertTrue(diff > 1e-3, "16/8/4/2 windows should differ from global, max diff " + diff);
  }

  /** A plain checkpoint loads into cwin: the new convs are reported fresh, start at zero, and cwin then computes win. */
  @Test
  void plainCheckpointsLoadIntoCwinWithZeroConvs() {
    RestConfig win = V2.withWindows(WindowStyle.WIN, List.of(16, 8, 4, 2));
    RestConfig cwin = V2.withWindows(WindowStyle.CWIN, List.of(16, 8, 4, 2));
    HostTensor x = input(1, 128, 96);
    Map<String, HostTensor> plain;
    float[] winLogits;
    try (RestModel m = RestModel.create(win)) {
      m.initFresh(11);
      plain = m.stateDict();
      winLogits = m.forward(x).logits().toFloats();
    }
    try (RestModel m = RestModel.create(cwin)) {
      RestModel.LoadReport r = m.load(plain);
      assertEquals(List.of("cwin1.weight", "cwin1.bias", "cwin2.weight", "cwin2.bias", "cwin3.weight", "cwin3.bias",
          "cwin4.weight", "cwin4.bias"), r.fresh());
      for (float v : m.stateDict().get("cwin3.weight").toFloats()) assertEquals(0f, v);
      assertArrayEquals(new long[] {24, 1, 3, 3}, m.stateDict().get("cwin3.weight").shape());
      assertArrayEquals(winLogits, m.forward(x).logits().toFloats(), 0f);
    }
    // any other missing key is still refused
    plain.remove("stage1.0.attn.q.weight");
    try (RestModel m = RestModel.create(cwin)) {
      String msg = assertThrows(BadInputException.class, () -> m.load(plain)).getMessage();
      assertTrue(msg.contains("missing") && msg.contains("stage1.0.attn.q.weight"), msg);
    }
  }

  /** Each option's keys: what it adds, what it removes. */
  @Test
  void optionsDeclareTheirKeys() {
    Map<String, ParamSpec> gl = RestNetwork.parameters(V1.withDesign(Reduction.AVG, PositionEncoding.GL, Upsample.NONE,
        UpsampleTarget.V, true));
    assertTrue(gl.containsKey("stem.pos.gl_conv.weight") && gl.containsKey("patch_embed_4.pos.gl_conv.bias"));
    assertFalse(gl.keySet().stream().anyMatch(k -> k.contains("pa_conv") || k.endsWith("attn.sr.weight")));
    assertTrue(gl.containsKey("stage1.0.attn.sr_norm.weight"), "pooling keeps the reduction's LayerNorm");
    Map<String, ParamSpec> none = RestNetwork.parameters(V2.withDesign(Reduction.DWCONV, PositionEncoding.NONE,
        Upsample.NEAREST, UpsampleTarget.V, true).withApplyTransform(true));
    assertFalse(none.keySet().stream().anyMatch(k -> k.contains(".pos.")));
    assertArrayEquals(new long[] {8, 1, 3, 3}, none.get("stage1.0.attn.up.0.weight").officialShape(), "C → C, not sr²·C");
    assertArrayEquals(new long[] {2, 2, 1, 1}, none.get("stage2.0.attn.transform_conv.weight").officialShape());
    assertFalse(none.containsKey("stage1.0.attn.transform_conv.weight"), "one head: nothing to interact");
    Map<String, ParamSpec> convnet = RestNetwork.parameters(V2.withDesign(Reduction.DWCONV, PositionEncoding.PA,
        Upsample.PIXEL_SHUFFLE, UpsampleTarget.V, false));
    assertTrue(convnet.containsKey("stage2.1.attn.v.weight"));
    assertFalse(convnet.keySet().stream().anyMatch(k -> k.contains("attn.q.") || k.contains("attn.kv.")));
    Map<String, ParamSpec> noUp = RestNetwork.parameters(V2.withDesign(Reduction.DWCONV, PositionEncoding.PA,
        Upsample.NONE, UpsampleTarget.V, true));
    assertFalse(noUp.keySet().stream().anyMatch(k -> k.contains(".up.") || k.contains("up_norm")));
  }

  /** The parameter count summary prints (computed without a graph) equals the graph's, for every option. */
  @Test
  void parameterCountsMatchTheGraph() {
    List<RestConfig> configs = new ArrayList<>();
    for (Reduction r : Reduction.values()) {
      for (PositionEncoding p : PositionEncoding.values()) {
        configs.add(V1.withDesign(r, p, Upsample.NONE, UpsampleTarget.V, true));
        configs.add(V1.withDesign(r, p, Upsample.NONE, UpsampleTarget.V, true).withApplyTransform(false));
      }
    }
    for (Upsample u : Upsample.values()) {
      for (UpsampleTarget t : UpsampleTarget.values()) {
        configs.add(V2.withDesign(Reduction.DWCONV, PositionEncoding.PA, u, t, true).withApplyTransform(true));
        if (u != Upsample.NONE && t != UpsampleTarget.K) {
          configs.add(V2.withDesign(Reduction.AVG, PositionEncoding.PA, u, t, false));
        }
      }
    }
    for (WindowStyle w : WindowStyle.values()) configs.add(V2.withWindows(w, List.of(16, 8, 4, 2)));
    for (RestConfig c : configs) {
      long graph = RestNetwork.parameters(c).values().stream().filter(ParamSpec::trainable).mapToLong(ParamSpec::size).sum();
      assertEquals(graph, ResourceEstimate.parameters(c), c.toJson());
    }
  }

  static HostTensor input(int b, int h, int w) {
    float[] v = new float[b * h * w * 3];
    SplittableRandom rng = new SplittableRandom(42);
    for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
    return HostTensor.ofFloats(new long[] {b, h, w, 3}, v);
  }

  static float[] logits(RestConfig c, HostTensor x, long seed) {
    try (RestModel m = RestModel.create(c)) {
      m.initFresh(seed);
      return m.forward(x).logits().toFloats();
    }
  }
}
