package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.RestConfig;
import io.resttf.model.RestNetwork;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * An export holds the network once: the exported graph has exactly one network's matrix products,
 * convolutions and variables (the serving graph's own, filled by its weight loader), no second copy.
 */
class ExportBuildsOneNetworkTest {
  /** Op types that only the network computes (preprocessing and the signatures' heads have none). */
  static final Set<String> NETWORK_OPS = Set.of("MatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv2D", "DepthwiseConv2dNative",
      "VariableV2");

  @ParameterizedTest
  @ValueSource(strings = {TestModels.V2, TestModels.V1})
  void exportedGraphHasOneNetwork(String caseName) {
    RestConfig config = TestModels.config(caseName);
    Map<String, Integer> one;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      RestNetwork.build(tf, config, tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, config.inChans()))));
      one = count(g);
    }
    assertTrue(one.getOrDefault("MatMul", 0) > 0 && one.getOrDefault("DepthwiseConv2dNative", 0) > 0
        && one.getOrDefault("VariableV2", 0) > 0, "the network computes MatMul and depthwise convs: " + one);

    SavedModelExporter.Result export = TestModels.exported(caseName);
    try (SavedModelBundle bundle = SavedModelBundle.load(export.versionDir().toString(), ServingSignatures.TAG)) {
      assertEquals(one, count(bundle.graph()), caseName + ": op counts of the exported graph vs one network");
    }
  }

  static Map<String, Integer> count(Graph g) {
    Map<String, Integer> out = new TreeMap<>();
    g.operations().forEachRemaining(op -> {
      // the export writes the network's BatchMatMulV3 as the equivalent V2 (MetaGraphFinisher): one kind here
      if (NETWORK_OPS.contains(op.type())) out.merge(op.type().startsWith("BatchMatMul") ? "BatchMatMul" : op.type(), 1, Integer::sum);
    });
    return out;
  }
}
