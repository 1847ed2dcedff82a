package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.testing.Fixtures;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.tensorflow.Graph;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/** The graph's variables are exactly the official state_dict, through the one key mapping. */
class ManifestTest {
  static java.util.List<String> variants() {
    return Fixtures.VARIANTS;
  }

  @ParameterizedTest
  @MethodSource("variants")
  void variablesMatchManifestKeysAndShapes(String variant) {
    JsonNode manifest = Fixtures.json(Fixtures.manifest(variant));
    RestConfig config = Variants.get(variant);
    assertEquals(config, RestConfig.fromJson(manifest.get("config").toString(), variant), "registry config");

    Map<String, String> expected = new TreeMap<>();
    for (JsonNode e : manifest.get("state_dict")) {
      String key = e.get(0).asText();
      long[] shape = new long[e.get(1).size()];
      for (int i = 0; i < shape.length; i++) shape[i] = e.get(1).get(i).asLong();
      WeightMapping.tfName(key).ifPresent(name -> expected.put(name, Arrays.toString(shape)));
    }
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      var input = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, 3)));
      RestNetwork net = RestNetwork.build(tf, config, input);
      Map<String, String> actual = new TreeMap<>();
      for (Params.Param p : net.params().all().values()) {
        actual.put(p.tfName(), Arrays.toString(p.officialShape()));
        // the variable has the TF shape its declaration pairs with the official one
        assertArrayEquals(p.tfShape(), g.operation(p.tfName()).output(0).shape().asArray(), p.key());
      }
      assertEquals(expected, actual);
      assertEquals(manifest.get("num_parameters").asLong(), net.params().numParameters());
    }
  }
}
