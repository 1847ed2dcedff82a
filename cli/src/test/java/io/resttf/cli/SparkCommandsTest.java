package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/rest-tf spark-classify on an embedded Spark: the same labels as the classify verb; bad input as every verb's. */
class SparkCommandsTest {
  static final Path IMAGES = Path.of("src/main/resources/io/resttf/cli/demo/images").toAbsolutePath();

  @Test
  void sparkClassifyAgreesWithClassify(@TempDir Path tmp) throws Exception {
    CliRun.of("demo", "--base", tmp.toString(), "--limit", "1", "--batch", "1").ok();
    Path model = tmp.resolve("fashion_restv2_micro");
    Path out = tmp.resolve("labels.parquet");
    // no --master: the embedded local[*]
    CliRun r = CliRun.of("spark-classify", "--model", model.toString(), "--input", IMAGES.toString(), "--output", out.toString(),
        "--top", "1").ok();
    assertTrue(r.out().startsWith("spark-classify: classified 40 images (0 with an error)"), r.out());
    assertTrue(r.out().contains("on local[*] -> "), r.out());
    // stderr holds progress lines only (one every 5 s: none on a quiet machine, some on a loaded one)
    for (String line : r.err().strip().split("\\R")) {
      assertTrue(line.isEmpty() || line.matches("spark-classify: \\d+ / 40 images \\(\\d+ %\\), [0-9.]+ images/s(, ETA .+)?"), line);
    }

    List<String> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(IMAGES)) {
      s.filter(p -> p.toString().endsWith(".png")).sorted().forEach(p -> files.add(p.toString()));
    }
    List<String> args = new ArrayList<>(List.of("classify", "--model", model.toString(), "--top-k", "1"));
    args.addAll(files);
    String lines = CliRun.of(args.toArray(String[]::new)).ok().out();
    Map<String, String> expected = new HashMap<>();
    Matcher m = Pattern.compile("(?m)^(.+\\.png):  (.+) ([0-9.]+)$").matcher(lines);
    while (m.find()) expected.put(m.group(1), m.group(2));
    assertEquals(40, expected.size(), lines);

    SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
    try {
      List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
      assertEquals(40, rows.size());
      for (Row row : rows) {
        String path = row.getString(row.fieldIndex("path")).replaceFirst("^file:", "");
        assertEquals(expected.get(path), row.getString(row.fieldIndex("label")), path);
        assertEquals(1L, row.getLong(row.fieldIndex("model_version")));
      }
    } finally {
      spark.stop();
    }
  }

  @Test
  void badInputIsOneLine(@TempDir Path tmp) {
    CliRun.of("spark-classify", "--model", tmp.resolve("none").toString(), "--input", IMAGES.toString(), "--output",
        tmp.resolve("o").toString()).badInput("none: no such directory");
    CliRun.of("spark-segment", "--model", tmp.toString(), "--input", IMAGES.toString(), "--output", tmp.resolve("o").toString(),
        "--mode", "sliding").badInput("--mode", "sliding");
    CliRun.of("spark-embed", "--input", IMAGES.toString(), "--output", tmp.resolve("o").toString()).badInput("--model");
    assertFalse(Files.exists(tmp.resolve("o")));
  }

  /** bin/rest-tf passes the same --add-opens list as the tests (pom.xml's spark.java.opens). */
  @Test
  void launcherOpensWhatSparkNeeds() throws Exception {
    String script = Files.readString(Path.of("../bin/rest-tf"));
    Matcher m = Pattern.compile("spark_opens=\\(([^)]*)\\)").matcher(script);
    assertTrue(m.find(), "no spark_opens in bin/rest-tf");
    List<String> launcher = List.of(m.group(1).trim().split("\\s+"));
    List<String> pom = List.of(System.getProperty("spark.java.opens").trim().split("\\s+"));
    assertEquals(pom, launcher);
  }
}
