package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.WeightMapping;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Item 2 of the issue: the gradients of the mean cross-entropy (no smoothing, no drop path) w.r.t.
 * every parameter equal the official code's float64 reference, tensor by tensor (mapped back to the
 * official keys and layouts), within 1e-4 of each tensor's largest magnitude; the loss equals
 * gradients.loss_value. Both loss paths are checked: hard labels (SparseSoftmaxCrossEntropyWithLogits,
 * whose gradient is registered from Java) and one-hot soft targets (SoftmaxCrossEntropyWithLogits).
 */
@Tag("parity")
class GradientParityTest {
  static final double TOLERANCE = 1e-4;

  @ParameterizedTest
  @ValueSource(strings = {"rest_lite-narrow", "restv2_tiny-narrow"})
  void gradientsMatchTheOfficialReference(String caseName) {
    Path dir = Fixtures.parity(caseName);
    JsonNode meta = Fixtures.json(dir.resolve("config.json"));
    RestConfig config = RestConfig.read(dir.resolve("config.json"));
    Map<String, HostTensor> weights = Safetensors.read(dir.resolve("weights.safetensors"));
    Map<String, HostTensor> reference = Safetensors.read(dir.resolve("grads_0.safetensors"));
    HostTensor x = Npy.read(dir.resolve("input_0.npy"));
    long[] labels = Npy.read(dir.resolve("labels_0.npy")).toLongs();
    double expectedLoss = meta.path("gradients").path("loss_value").asDouble();

    long[] nchw = x.shape();
    long[] nhwc = {nchw[0], nchw[2], nchw[3], nchw[1]};
    float[] pixels = toNhwc(x.toFloats(), nchw);
    int[] hard = new int[labels.length];
    float[] oneHot = new float[labels.length * config.numClasses()];
    for (int i = 0; i < labels.length; i++) {
      hard[i] = (int) labels[i];
      oneHot[i * config.numClasses() + hard[i]] = 1f;
    }

    for (boolean soft : new boolean[] {false, true}) {
      TrainingGraph.Spec spec = TrainingGraph.Spec.of(config).withBatchNormTraining(false).withSoftTargets(soft);
      try (TrainingGraph g = TrainingGraph.build(spec, null)) {
        if (!soft) {
          assertTrue(g.gradientReport().opTypes().contains("SparseSoftmaxCrossEntropyWithLogits"));
          assertTrue(GradientSupport.hasGradient("SparseSoftmaxCrossEntropyWithLogits"), "Java gradient registered");
        }
        // The oneDNN trap (README; core's ConvGradientTest): no gradient may run Conv2DBackpropInput.
        List<String> convBackprop = new ArrayList<>();
        g.graph().operations().forEachRemaining(op -> {
          if (op.type().startsWith("Conv2DBackpropInput")) convBackprop.add(op.name());
        });
        assertTrue(convBackprop.isEmpty(), "training graph computes Conv2DBackpropInput: " + convBackprop);
        g.load(weights, RestModel.LoadOptions.STRICT, 0);
        float[] loss = new float[1];
        TrainingGraph.Batch batch = new TrainingGraph.Batch(nhwc, pixels, hard, soft ? oneHot : null, null, null);
        Map<String, HostTensor> grads = g.gradients(batch, loss);
        String what = caseName + (soft ? " (soft targets)" : " (hard labels)");
        assertEquals(expectedLoss, loss[0], 2e-5 * Math.max(1, expectedLoss), what + ": loss");

        assertEquals(new TreeSet<>(reference.keySet()), new TreeSet<>(grads.keySet()), what + ": parameters with gradients");
        // Some gradients are exactly zero in exact arithmetic (biases whose shift a softmax or the v1
        // InstanceNorm cancels: kv / sr_norm / transform_conv biases); their float64 references are
        // rounding residue (< 1e-9 of the largest gradient), so "relative to the tensor's max" has no
        // meaning there. Those must be negligible instead: within 1e-4 of the largest gradient magnitude.
        double globalMax = 0;
        for (HostTensor t : reference.values()) for (double v : t.toDoubles()) globalMax = Math.max(globalMax, Math.abs(v));
        List<String> bad = new ArrayList<>();
        double worst = 0;
        int zeros = 0;
        for (Map.Entry<String, HostTensor> e : reference.entrySet()) {
          String key = e.getKey();
          HostTensor ref = e.getValue();
          HostTensor mine = WeightMapping.toOfficial(g.paramSpec(key), grads.get(key));
          double[] r = ref.toDoubles();
          float[] m = mine.toFloats();
          double scale = 0, err = 0;
          for (double v : r) scale = Math.max(scale, Math.abs(v));
          for (int i = 0; i < r.length; i++) err = Math.max(err, Math.abs(m[i] - r[i]));
          if (scale <= 1e-9 * globalMax) {
            zeros++;
            if (!(err <= TOLERANCE * globalMax)) bad.add(key + " (exactly zero) max error " + err + " vs largest gradient " + globalMax);
            continue;
          }
          double rel = err / scale;
          worst = Math.max(worst, rel);
          if (!(rel <= TOLERANCE)) bad.add(key + " relative error " + rel + " (max |ref| " + scale + ", max error " + err + ")");
        }
        assertTrue(bad.isEmpty(), what + ": gradients off: " + bad);
        System.out.printf("%s: loss %.9f (reference %.9f), worst relative gradient error %.2e over %d tensors"
            + " (%d exactly-zero gradients negligible)%n", what, loss[0], expectedLoss, worst, reference.size() - zeros, zeros);
      }
    }
  }

  static float[] toNhwc(float[] src, long[] nchw) {
    int n = (int) nchw[0], c = (int) nchw[1], h = (int) nchw[2], w = (int) nchw[3];
    float[] out = new float[src.length];
    for (int b = 0; b < n; b++)
      for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
          for (int xx = 0; xx < w; xx++)
            out[((b * h + y) * w + xx) * c + ch] = src[((b * c + ch) * h + y) * w + xx];
    return out;
  }
}
