package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * A layer the model does not have (a small dense-prediction head, written here with the layer helpers)
 * loads from an official-layout state_dict and exports back to it with no edit of the mapping: its
 * parameters' declared kinds pick the layouts. Its outputs match PyTorch's definitions computed here
 * from the official tensors, so the layouts are the right ones, not merely invertible.
 */
class NewLayerRoundTripTest {
  static final RestConfig CONFIG = Variants.get("restv2_tiny");
  static final int H = 4, W = 5, IN = 2, CONV_OUT = 3, MULT = 2, CLASSES = 4;

  /** decode.conv: Conv2d(2, 3, 3, padding 1) → decode.bn → decode.cls: Linear(3, 4); decode.dw: Conv2d(2, 4, 3, padding 1, groups 2). */
  record Head(Operand<TFloat32> logits, Operand<TFloat32> depthwise) {}

  static Head build(Nn nn, Operand<TFloat32> x) {
    Operand<TFloat32> y = nn.conv(x, "decode.conv", IN, CONV_OUT, 3, 1, 1, true);
    y = nn.batchNorm(y, "decode.bn", CONV_OUT);
    Operand<TFloat32> logits = nn.linear(y, "decode.cls", CONV_OUT, CLASSES, true);
    return new Head(logits, nn.depthwise(x, "decode.dw", IN, MULT, 3, 1, 1));
  }

  @Test
  void loadsAndExportsThroughDeclaredKinds() {
    SplittableRandom rng = new SplittableRandom(11);
    Map<String, HostTensor> official = new LinkedHashMap<>();
    official.put("decode.conv.weight", random(rng, CONV_OUT, IN, 3, 3));
    official.put("decode.conv.bias", random(rng, CONV_OUT));
    official.put("decode.bn.weight", random(rng, CONV_OUT));
    official.put("decode.bn.bias", random(rng, CONV_OUT));
    official.put("decode.bn.running_mean", random(rng, CONV_OUT));
    official.put("decode.bn.running_var", positive(rng, CONV_OUT));
    official.put("decode.cls.weight", random(rng, CLASSES, CONV_OUT));
    official.put("decode.cls.bias", random(rng, CLASSES));
    official.put("decode.dw.weight", random(rng, IN * MULT, 1, 3, 3));
    official.put("decode.dw.bias", random(rng, IN * MULT));
    HostTensor image = random(rng, 1, H, W, IN); // NHWC

    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Params params = new Params(tf);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, H, W, IN)));
      Head head = build(new Nn(tf, params, CONFIG, null), x);
      assertEquals(List.of(ParamKind.CONV, ParamKind.CONV_BIAS, ParamKind.NORM_WEIGHT, ParamKind.NORM_BIAS,
          ParamKind.RUNNING_MEAN, ParamKind.RUNNING_VAR, ParamKind.LINEAR, ParamKind.LINEAR_BIAS, ParamKind.DEPTHWISE,
          ParamKind.CONV_BIAS), params.all().values().stream().map(Params.Param::kind).toList());
      WeightLoader loader = WeightLoader.create(tf, params, CONFIG);
      try (Session s = new Session(g)) {
        RestModel.LoadReport report = loader.load(s, official, RestModel.LoadOptions.STRICT, 0);
        assertEquals(official.size(), report.loaded());

        Map<String, HostTensor> back = loader.stateDict(s);
        assertEquals(official.keySet(), back.keySet());
        official.forEach((k, v) -> {
          assertArrayEquals(v.shape(), back.get(k).shape(), k);
          assertArrayEquals(v.toFloats(), back.get(k).toFloats(), k);
        });

        try (TFloat32 in = TfTensors.toTf(image);
            Result r = s.runner().feed(x, in).fetch(head.logits()).fetch(head.depthwise()).run()) {
          float[] logits = TfTensors.toHost((TFloat32) r.get(0)).toFloats();
          float[] dw = TfTensors.toHost((TFloat32) r.get(1)).toFloats();
          assertClose(referenceLogits(official, image.toFloats()), logits, "conv → BN → linear");
          assertClose(referenceDepthwise(official, image.toFloats()), dw, "depthwise conv");
        }
      }
    }
  }

  /** PyTorch's Conv2d (weight [O, I, 3, 3], padding 1) → BatchNorm2d (eval) → Linear (weight [out, in]), NHWC out. */
  static float[] referenceLogits(Map<String, HostTensor> sd, float[] img) {
    float[] w = sd.get("decode.conv.weight").toFloats(), b = sd.get("decode.conv.bias").toFloats();
    float[] gamma = sd.get("decode.bn.weight").toFloats(), beta = sd.get("decode.bn.bias").toFloats();
    float[] mean = sd.get("decode.bn.running_mean").toFloats(), var = sd.get("decode.bn.running_var").toFloats();
    float[] lw = sd.get("decode.cls.weight").toFloats(), lb = sd.get("decode.cls.bias").toFloats();
    float[] out = new float[H * W * CLASSES];
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        double[] feat = new double[CONV_OUT];
        for (int o = 0; o < CONV_OUT; o++) {
          double acc = b[o];
          for (int i = 0; i < IN; i++)
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++) acc += w[((o * IN + i) * 3 + ky) * 3 + kx] * pixel(img, y + ky - 1, x + kx - 1, i);
          feat[o] = (acc - mean[o]) / Math.sqrt(var[o] + RestConfig.BATCH_NORM_EPS) * gamma[o] + beta[o];
        }
        for (int c = 0; c < CLASSES; c++) {
          double acc = lb[c];
          for (int o = 0; o < CONV_OUT; o++) acc += lw[c * CONV_OUT + o] * feat[o];
          out[(y * W + x) * CLASSES + c] = (float) acc;
        }
      }
    return out;
  }

  /** PyTorch's Conv2d(IN, IN·MULT, 3, padding 1, groups IN): output channel c·MULT + j reads input channel c. */
  static float[] referenceDepthwise(Map<String, HostTensor> sd, float[] img) {
    float[] w = sd.get("decode.dw.weight").toFloats(), b = sd.get("decode.dw.bias").toFloats();
    int outC = IN * MULT;
    float[] out = new float[H * W * outC];
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        for (int o = 0; o < outC; o++) {
          double acc = b[o];
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) acc += w[(o * 3 + ky) * 3 + kx] * pixel(img, y + ky - 1, x + kx - 1, o / MULT);
          out[(y * W + x) * outC + o] = (float) acc;
        }
    return out;
  }

  static double pixel(float[] img, int y, int x, int c) {
    return y < 0 || y >= H || x < 0 || x >= W ? 0 : img[(y * W + x) * IN + c];
  }

  static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      assertTrue(Math.abs(expected[i] - actual[i]) <= 1e-5 * Math.max(1, Math.abs(expected[i])),
          what + " element " + i + ": " + actual[i] + " vs " + expected[i]);
    }
  }

  static HostTensor random(SplittableRandom rng, long... shape) {
    float[] v = new float[Math.toIntExact(HostTensor.numElements(shape))];
    for (int i = 0; i < v.length; i++) v[i] = (float) (2 * rng.nextDouble() - 1);
    return HostTensor.ofFloats(shape, v);
  }

  static HostTensor positive(SplittableRandom rng, long... shape) {
    float[] v = new float[Math.toIntExact(HostTensor.numElements(shape))];
    for (int i = 0; i < v.length; i++) v[i] = (float) (0.5 + rng.nextDouble());
    return HostTensor.ofFloats(shape, v);
  }
}
