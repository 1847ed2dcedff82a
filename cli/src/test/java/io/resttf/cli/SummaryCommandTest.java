package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.testing.Fixtures;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SummaryCommandTest {
  static List<String> variants() {
    return Fixtures.VARIANTS;
  }

  @Test
  void restLiteHasTheOfficialCount() {
    CliRun r = CliRun.of("summary", "--variant", "rest_lite").ok();
    List<String> lines = r.out().strip().lines().toList();
    assertEquals("parameters: 10508300", lines.get(lines.size() - 1));
    assertTrue(r.out().contains("family:      v1"), r.out());
    assertTrue(r.out().contains("num_classes: 1000"), r.out());
    assertTrue(r.out().contains("in_chans:    3"), r.out());
    assertEquals("", r.err());
  }

  @ParameterizedTest
  @MethodSource("variants")
  void everyVariantMatchesItsManifest(String variant) {
    long expected = Fixtures.json(Fixtures.manifest(variant)).get("num_parameters").asLong();
    CliRun r = CliRun.of("summary", "--variant", variant).ok();
    List<String> lines = r.out().strip().lines().toList();
    assertEquals("parameters: " + expected, lines.get(lines.size() - 1));
    // the stage rows and the head row add up to the total
    long sum = 0;
    Matcher m = Pattern.compile("(?m)^(stage\\d|head)\\s.*?\\s([\\d,]+)$").matcher(r.out());
    int rows = 0;
    while (m.find()) {
      sum += Long.parseLong(m.group(2).replace(",", ""));
      rows++;
    }
    assertEquals(5, rows, r.out());
    assertEquals(expected, sum, r.out());
  }

  @Test
  void configFileWorksToo() {
    String config = Fixtures.manifest("restv2_tiny").toString(); // a manifest holds {"config": {...}}
    CliRun r = CliRun.of("summary", "--config", config).ok();
    assertTrue(r.out().strip().endsWith("parameters: 30434776"), r.out());
    assertTrue(r.out().contains("family:      v2"), r.out());
  }

  @Test
  void helpOnEveryVerbAndTopLevel() {
    for (String[] args : List.of(new String[] {"--help"}, new String[] {"summary", "--help"},
        new String[] {"forward", "--help"}, new String[] {"bench", "--help"}, new String[] {"help", "forward"})) {
      CliRun r = CliRun.of(args).ok();
      assertTrue(r.out().contains("Usage: rest-tf"), r.out());
    }
    assertTrue(CliRun.of("--help").out().contains("summary"));
    assertTrue(CliRun.of("summary", "--help").out().contains("rest_lite"), "variant names listed");
  }

  /** The rows summary counts from the shapes equal the built graph's parameters grouped by key. */
  @ParameterizedTest
  @MethodSource("variants")
  void rowsFromShapesEqualTheGraphs(String variant) {
    io.resttf.model.RestConfig c = io.resttf.model.Variants.get(variant);
    long[] graphRows = new long[io.resttf.model.RestConfig.NUM_STAGES + 1];
    try (org.tensorflow.Graph g = new org.tensorflow.Graph()) {
      org.tensorflow.op.Ops tf = org.tensorflow.op.Ops.create(g);
      var input = tf.placeholder(org.tensorflow.types.TFloat32.class,
          org.tensorflow.op.core.Placeholder.shape(org.tensorflow.ndarray.Shape.of(-1, -1, -1, c.inChans())));
      Pattern stage = Pattern.compile("^(?:stage|patch_embed_|patch_)(\\d+)\\..*");
      for (io.resttf.model.Params.Param p : io.resttf.model.RestNetwork.build(tf, c, input).params().all().values()) {
        if (!p.trainable()) continue;
        Matcher m = stage.matcher(p.key());
        int row = p.key().startsWith("stem.") ? 0 : m.matches() ? Integer.parseInt(m.group(1)) - 1
            : (p.key().startsWith("norm.") || p.key().startsWith("head.")) ? 4 : -1;
        assertTrue(row >= 0, p.key());
        graphRows[row] += p.size();
      }
    }
    assertEquals(java.util.Arrays.toString(graphRows), java.util.Arrays.toString(io.resttf.model.ResourceEstimate.parameterRows(c)));
  }
}
