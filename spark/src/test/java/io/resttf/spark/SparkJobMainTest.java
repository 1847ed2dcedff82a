package io.resttf.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spark-* verbs as spark-submit runs them (SparkJobMain): output, summary, and one-line errors with exit 2. */
class SparkJobMainTest {
  record Run(int code, String out, String err) {
    String errLines() {
      return err.strip();
    }
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter(), err = new StringWriter();
    int code = SparkJobMain.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void classifyWritesParquetAndSaysWhatItDid(@TempDir Path tmp) {
    Path out = tmp.resolve("labels");
    Run r = run("spark-classify", "--model", SparkTestData.classifier().toString(), "--input", SparkTestData.images().toString(),
        "--output", out.toString(), "--master", "local[2]", "--batch", "8", "--top", "3", "--partition-by", "label");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().matches("(?s)spark-classify: classified 41 images \\(1 with an error\\) in [0-9.]+ s, [0-9.]+ images/s, on local\\[2\\] -> "
        + java.util.regex.Pattern.quote(out.toString()) + " \\(Parquet\\)\\s*"), r.out());
    SparkSession spark = SparkTestData.session("local[1]");
    try {
      List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
      assertEquals(41, rows.size());
      for (Row row : rows) {
        if (row.isNullAt(row.fieldIndex(RestTfSpark.ERROR))) assertEquals(3, row.getList(row.fieldIndex(RestTfSpark.TOP_LABELS)).size());
      }
    } finally {
      spark.stop();
    }
  }

  /** The command line's own local-cluster set-up: executors on its class path, under Spark's standalone worker. */
  @Test
  void classifyOnExecutorJvms(@TempDir Path tmp) {
    Run r = run("spark-classify", "--model", SparkTestData.classifier().toString(), "--input", SparkTestData.DEMO_IMAGES.toString(),
        "--output", tmp.resolve("o").toString(), "--master", "local-cluster[2,1,1024]", "--partitions", "4");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("spark-classify: classified 40 images (0 with an error)"), r.out());
    assertTrue(r.out().contains("on local-cluster[2,1,1024]"), r.out());
  }

  @Test
  void embedAndSegmentRunToo(@TempDir Path tmp) throws Exception {
    Run e = run("spark-embed", "--model", SparkTestData.classifier().toString(), "--input", SparkTestData.DEMO_IMAGES.toString(),
        "--output", tmp.resolve("emb").toString(), "--master", "local[2]", "--multi-scale");
    assertEquals(0, e.code(), e.err());
    assertTrue(e.out().startsWith("spark-embed: embedded 40 images (0 with an error)"), e.out());
    Path scenes = tmp.resolve("scenes");
    Files.createDirectories(scenes);
    Files.copy(SparkTestData.ODD_JPEG, scenes.resolve("a.jpg"));
    Run s = run("spark-segment", "--model", SparkTestData.segmenter().toString(), "--input", scenes.toString(),
        "--output", tmp.resolve("seg").toString(), "--master", "local[1]", "--masks");
    assertEquals(0, s.code(), s.err());
    try (Stream<Path> masks = Files.list(tmp.resolve("seg").resolve(SparkSegmentCommand.MASKS))) {
      assertEquals(1, masks.filter(p -> p.toString().endsWith(".png")).count());
    }
  }

  @Test
  void badInputIsOneLineAndExitTwoBeforeSparkStarts(@TempDir Path tmp) throws Exception {
    String model = SparkTestData.classifier().toString(), images = SparkTestData.DEMO_IMAGES.toString(), out = tmp.resolve("o").toString();
    Path exists = Files.createDirectories(tmp.resolve("exists"));
    String[][] cases = {
        {"--model", tmp.resolve("missing").toString(), "--input", images, "--output", out},
        {"--model", SparkTestData.segmenter().toString(), "--input", images, "--output", out},
        {"--model", model, "--input", tmp.resolve("nope").toString(), "--output", out},
        {"--model", model, "--input", "tfrecord:" + tmp + "/*.tfrecord", "--output", out},
        {"--model", model, "--input", images, "--output", exists.toString()},
        {"--model", model, "--input", images, "--output", out, "--batch", "0"},
        {"--model", model, "--input", images, "--output", out, "--top", "9"},
        {"--model", model, "--input", images, "--output", out, "--conf", "executor.memory=2g"},
        {"--model", model, "--input", images, "--output", out, "--partitions", "-1"},
        {"--model", model, "--input", images, "--output", out, "--bacth", "8"},
    };
    String[] expected = {
        "missing: no such directory",
        "a segmentation export, not a classification model",
        "nope: no such image folder",
        "matches no file",
        "already exists",
        "batch size 0: must be 1..4096",
        "top-k 9: must be 1..5",
        "--conf executor.memory=2g: expected spark.KEY=VALUE",
        "--partitions -1",
        "Unknown options: '--bacth'",
    };
    for (int i = 0; i < cases.length; i++) {
      String[] args = new String[cases[i].length + 1];
      args[0] = "spark-classify";
      System.arraycopy(cases[i], 0, args, 1, cases[i].length);
      Run r = run(args);
      assertEquals(2, r.code(), String.join(" ", args) + "\n" + r.err());
      assertTrue(r.errLines().startsWith("rest-tf: ") && r.errLines().contains(expected[i]), String.join(" ", args) + " -> " + r.err());
      assertEquals(1, r.errLines().lines().count(), r.err());
      assertTrue(SparkSession.getDefaultSession().isEmpty(), "Spark was started for " + String.join(" ", args));
    }
    assertFalse(Files.exists(tmp.resolve("o")));
  }

  @Test
  void aBadPartitionColumnIsOneLineAndLeavesNothing(@TempDir Path tmp) throws Exception {
    Run r = run("spark-classify", "--model", SparkTestData.classifier().toString(), "--input", SparkTestData.DEMO_IMAGES.toString(),
        "--output", tmp.resolve("o").toString(), "--master", "local[1]", "--partition-by", "lable");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().strip().endsWith("rest-tf: partition column 'lable': not in the result (columns: path, label, probability, top_labels,"
        + " top_probabilities, top_indices, model_version, error)"), r.err());
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(0, s.count());
    }
  }
}
