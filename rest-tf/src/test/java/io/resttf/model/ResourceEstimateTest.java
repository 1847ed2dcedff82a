package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.tensor.BadInputException;
import io.resttf.testing.Fixtures;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ResourceEstimateTest {
  static List<String> variants() {
    return Variants.names();
  }

  /** The count from shapes alone equals the released checkpoints' (manifests: the official parameter count). */
  @ParameterizedTest
  @MethodSource("variants")
  void parametersMatchTheOfficialCount(String variant) throws IOException {
    JsonNode manifest = new ObjectMapper().readTree(Fixtures.manifest(variant).toFile());
    assertEquals(manifest.get("num_parameters").asLong(), ResourceEstimate.parameters(Variants.get(variant)));
  }

  /** ... and the graph's own count, for configs with and without head, qkv bias and transform. */
  @Test
  void parametersMatchTheGraph() {
    RestConfig lite = Variants.get("rest_lite");
    RestConfig noBias = RestConfig.official(Family.V1, lite.embedDims(), lite.numHeads(), lite.depths(), lite.srRatios(),
        lite.mlpRatios(), 0, 1, false, false, 1e-5, 0);
    for (RestConfig c : List.of(noBias, Variants.get("restv2_tiny").withNumClasses(7))) {
      try (org.tensorflow.Graph g = new org.tensorflow.Graph()) {
        org.tensorflow.op.Ops tf = org.tensorflow.op.Ops.create(g);
        var input = tf.placeholder(org.tensorflow.types.TFloat32.class,
            org.tensorflow.op.core.Placeholder.shape(org.tensorflow.ndarray.Shape.of(-1, -1, -1, c.inChans())));
        assertEquals(RestNetwork.build(tf, c, input).params().numParameters(), ResourceEstimate.parameters(c), c.toString());
      }
    }
  }

  @Test
  void activationsGrowWithBatchAndArea() {
    RestConfig c = Variants.get("rest_lite");
    ResourceEstimate one = ResourceEstimate.inference(c, 1, 224, 224);
    assertEquals(one.weightBytes(), 4 * one.parameters());
    assertEquals(8 * one.activationBytes(), ResourceEstimate.inference(c, 8, 224, 224).activationBytes());
    assertEquals(224L * 224 * 3 * 4, one.inputBytes());
    assertTrue(ResourceEstimate.inference(c, 1, 448, 448).activationBytes() > 4 * one.activationBytes(),
        "attention grows with the square of the token count");
    ResourceEstimate train = ResourceEstimate.training(c, 1, 224, 224);
    assertEquals(4 * one.weightBytes(), train.weightBytes());
    assertTrue(train.activationBytes() > one.activationBytes(), "training keeps every layer's activations");
  }

  @Test
  void releasedModelsFitAtUsualSizes() {
    for (String v : Variants.names()) {
      ResourceEstimate.require(v, Variants.get(v), 8, 224, 224, false);
      ResourceEstimate.require(v, Variants.get(v), 8, 64, 64, true);
    }
  }

  @Test
  void hugeBatchIsRefusedWithTheFigures() {
    BadInputException e = assertThrows(BadInputException.class,
        () -> ResourceEstimate.require("--batch 100000", Variants.get("rest_lite"), 100_000, 224, 224, false));
    assertTrue(e.getMessage().startsWith("--batch 100000: needs about "), e.getMessage());
    assertTrue(e.getMessage().contains("more than this machine's"), e.getMessage());
  }

  @Test
  void hugeWidthsAreRefusedOnWeights() {
    RestConfig wide = RestConfig.of(Family.V2, List.of(4096, 8192, 16384, 32768), List.of(1, 2, 4, 8),
        List.of(2, 2, 2, 2), List.of(8, 4, 2, 1), List.of(4, 4, 4, 4), 1000, 3);
    assertTrue(ResourceEstimate.parameters(wide) > 30_000_000_000L);
    BadInputException e = assertThrows(BadInputException.class, () -> ResourceEstimate.requireWeights("model", wide));
    assertTrue(e.getMessage().contains("parameters"), e.getMessage());
    assertThrows(BadInputException.class, () -> RestModel.create(wide), "the library's entry point refuses it too");
  }

  @Test
  void overflowIsRefusedNotWrapped() {
    RestConfig c = RestConfig.of(Family.V1, List.of(65536, 65536, 65536, 65536), List.of(1, 1, 1, 65536),
        List.of(1000, 1000, 1000, 1000), List.of(1, 1, 1, 1), List.of(64, 64, 64, 64), 0, 3);
    BadInputException e = assertThrows(BadInputException.class,
        () -> ResourceEstimate.require("big", c, Integer.MAX_VALUE, 16384, 16384, true));
    assertTrue(e.getMessage().startsWith("big: "), e.getMessage());
    assertTrue(e.getMessage().contains("overflow"), e.getMessage());
  }

  @Test
  void sideBeyondTheLimitIsRefused() {
    BadInputException e = assertThrows(BadInputException.class,
        () -> ResourceEstimate.require("--size 1000000", Variants.get("rest_lite"), 1, 1_000_000, 1_000_000, false));
    assertTrue(e.getMessage().contains("16384"), e.getMessage());
  }

  /** An input batch must fit the Java heap twice over: the fuzzer's 1.2 GB batch under a 1.5 GB heap ran out of memory. */
  @Test
  void inputBatchMustFitTheHeapTwice() {
    long heap = Runtime.getRuntime().maxMemory();
    RestConfig c = Variants.get("rest_lite");
    // a batch of 224x224x3 floats just above half the heap
    long perImage = 224L * 224 * 3 * 4;
    long batch = heap / 2 / perImage + 1;
    BadInputException e = assertThrows(BadInputException.class,
        () -> ResourceEstimate.inference(c, batch, 224, 224).requireInputOnHeap("--batch " + batch));
    assertTrue(e.getMessage().contains("needs about 2x that of Java heap"), e.getMessage());
    ResourceEstimate.inference(c, Math.max(1, heap / 4 / perImage), 224, 224).requireInputOnHeap("a quarter of the heap");
  }
}
