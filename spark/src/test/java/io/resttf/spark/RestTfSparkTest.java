package io.resttf.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.serving.RestClassifier;
import io.resttf.serving.RestSegmenter;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.training.tfrecord.ImageExample;
import io.resttf.training.tfrecord.TfRecords;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Spark API on an embedded local[2] Spark: every job checked against the single-JVM Java API on the same images. */
class RestTfSparkTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = SparkTestData.session("local[2]");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** path → row, checking that paths are unique. */
  static Map<String, Row> byPath(List<Row> rows) {
    Map<String, Row> m = new HashMap<>();
    for (Row r : rows) assertNull(m.put(r.getString(r.fieldIndex(RestTfSpark.PATH)), r), "path twice: " + r);
    return m;
  }

  /** The rows of a classification job equal RestClassifier's answers for the same files (and errors where it fails). */
  static void assertClassifiedLikeRestClassifier(Map<String, Row> rows, Path model, Long version) {
    try (RestClassifier c = RestClassifier.open(model)) {
      int ok = 0;
      for (Map.Entry<String, Row> e : rows.entrySet()) {
        Row r = e.getValue();
        assertEquals(version, r.isNullAt(r.fieldIndex(RestTfSpark.MODEL_VERSION)) ? null : r.getLong(r.fieldIndex(RestTfSpark.MODEL_VERSION)));
        String file = e.getKey().replaceFirst("^file:", "");
        List<RestClassifier.ImageResult> expected = c.classifyEach(List.of(RestClassifier.ImageInput.of(Path.of(file))));
        if (!expected.get(0).ok()) {
          assertNotNull(r.getString(r.fieldIndex(RestTfSpark.ERROR)), file + " should have failed: " + expected.get(0).error());
          assertTrue(r.isNullAt(r.fieldIndex(RestTfSpark.LABEL)));
          continue;
        }
        assertNull(r.getString(r.fieldIndex(RestTfSpark.ERROR)), file);
        List<RestClassifier.Prediction> top = c.top(expected.get(0).classification().probabilities(), 5);
        List<String> labels = r.getList(r.fieldIndex(RestTfSpark.TOP_LABELS));
        List<Float> probs = r.getList(r.fieldIndex(RestTfSpark.TOP_PROBABILITIES));
        List<Integer> idx = r.getList(r.fieldIndex(RestTfSpark.TOP_INDICES));
        assertEquals(top.get(0).label(), r.getString(r.fieldIndex(RestTfSpark.LABEL)), file);
        assertEquals(top.get(0).probability(), r.getFloat(r.fieldIndex(RestTfSpark.PROBABILITY)), 1e-6, file);
        assertEquals(5, labels.size());
        for (int k = 0; k < 5; k++) {
          // a batch's composition changes the last float bits (see RestClassifier), never more
          assertEquals(top.get(k).probability(), probs.get(k), 1e-6, file + " rank " + k);
          if (Math.abs(top.get(k).probability() - (k + 1 < 5 ? top.get(k + 1).probability() : -1)) > 1e-6
              && (k == 0 || Math.abs(top.get(k).probability() - top.get(k - 1).probability()) > 1e-6)) {
            assertEquals(top.get(k).label(), labels.get(k), file + " rank " + k);
            assertEquals(top.get(k).index(), idx.get(k));
          }
        }
        ok++;
      }
      assertTrue(ok > 0);
    }
  }

  @Test
  void classifiesAFolderLikeTheJavaApiAndReportsTheBrokenImage() {
    Dataset<Row> images = ImageSources.read(spark, SparkTestData.images().toString());
    List<Row> rows = RestTfSpark.classify(images, SparkTestData.classifier().toString(), SparkOptions.defaults().withBatchSize(7)).collectAsList();
    Map<String, Row> m = byPath(rows);
    assertEquals(41, m.size(), "40 PNGs (20 in a subfolder) and broken.png; notes.txt is not listed: " + m.keySet());
    assertClassifiedLikeRestClassifier(m, SparkTestData.classifier(), 1L);
    Row broken = m.entrySet().stream().filter(e -> e.getKey().endsWith("broken.png")).findFirst().orElseThrow().getValue();
    String error = broken.getString(broken.fieldIndex(RestTfSpark.ERROR));
    assertTrue(error.contains("image") || error.contains("PNG") || error.contains("decode"), error);
    assertFalse(error.contains("\n"), error);
  }

  @Test
  void tensorFlowThreadsFollowTheExecutorsCores() {
    assertEquals(2, RestTfSpark.executorCores(spark), "local[2]: two cores per executor");
    // the default, one intra-op thread: the two concurrent tasks still get an inter-op thread each
    assertEquals(new ExecutorThreads(1, 2), RestTfSpark.threads(spark, SparkOptions.defaults()));
    assertEquals(new ExecutorThreads(2, 2), RestTfSpark.threads(spark, SparkOptions.defaults().withThreads(0)));
    assertEquals(new ExecutorThreads(3, 2), RestTfSpark.threads(spark, SparkOptions.defaults().withThreads(3)));
    assertEquals("threads 2000: must be 0 (the executor's cores) .. 1024",
        assertThrows(BadInputException.class, () -> SparkOptions.defaults().withThreads(2000)).getMessage());
  }

  @Test
  void topKIsTheOption() {
    Dataset<Row> images = ImageSources.read(spark, SparkTestData.DEMO_IMAGES.toString());
    List<Row> rows = RestTfSpark.classify(images, SparkTestData.classifier().toString(), SparkOptions.defaults().withTopK(2)).collectAsList();
    assertEquals(40, rows.size());
    for (Row r : rows) assertEquals(2, r.getList(r.fieldIndex(RestTfSpark.TOP_LABELS)).size());
  }

  @Test
  void embeddingsArePooledStageMaps() throws Exception {
    List<Path> pngs = SparkTestData.demoPngs().subList(0, 6);
    Dataset<Row> images = ImageSources.read(spark, SparkTestData.DEMO_IMAGES.toString());
    Map<String, Row> m = byPath(RestTfSpark.embed(images, SparkTestData.classifier().toString(),
        SparkOptions.defaults().withMultiScale(true).withBatchSize(4)).collectAsList());
    assertEquals(40, m.size());
    try (RestClassifier c = RestClassifier.open(SparkTestData.classifier())) {
      for (Path png : pngs) {
        Row r = m.get("file:" + png);
        assertNotNull(r, png + " in " + m.keySet());
        List<HostTensor> stages = c.features(c.preprocess(List.of(RestClassifier.ImageInput.of(png))));
        for (int s = 0; s < 4; s++) {
          String col = s == 3 ? RestTfSpark.EMBEDDING : RestTfSpark.stageEmbedding(s + 1);
          List<Float> got = r.getList(r.fieldIndex(col));
          long[] shape = stages.get(s).shape();
          float[] v = stages.get(s).toFloats();
          assertEquals(shape[3], got.size(), col);
          for (int k = 0; k < shape[3]; k++) {
            double mean = 0;
            for (int p = 0; p < shape[1] * shape[2]; p++) mean += v[(int) (p * shape[3] + k)];
            mean /= shape[1] * shape[2];
            assertEquals(mean, got.get(k), 1e-5 * Math.max(1, Math.abs(mean)), col + "[" + k + "] of " + png);
          }
        }
      }
    }
  }

  @Test
  void segmentsWithMasksWrittenAtomicallyWithTheOutput(@TempDir Path tmp) throws Exception {
    Path in = tmp.resolve("scenes");
    Files.createDirectories(in);
    Files.copy(SparkTestData.ODD_JPEG, in.resolve("odd.jpg"));
    Files.copy(SparkTestData.DEMO_IMAGES.resolve("test_0000.png"), in.resolve("small.png"));
    Files.writeString(in.resolve("bad.jpg"), "no JPEG");
    Path out = tmp.resolve("seg-out");
    Dataset<Row> images = ImageSources.read(spark, in.toString());
    RestTfSpark.Written w = RestTfSpark.write(spark, out.toString(), List.of(), false,
        staging -> RestTfSpark.segment(images, SparkTestData.segmenter().toString(),
            SparkOptions.defaults().withMasksDir(staging + "/" + SparkSegmentCommand.MASKS)));
    assertEquals(3, w.rows());
    assertEquals(1, w.errors());
    Map<String, Row> m = byPath(spark.read().parquet(out.toString()).collectAsList());
    try (RestSegmenter s = RestSegmenter.open(SparkTestData.segmenter())) {
      for (String name : List.of("odd.jpg", "small.png")) {
        Row r = m.get("file:" + in.resolve(name));
        assertNull(r.getString(r.fieldIndex(RestTfSpark.ERROR)));
        assertEquals(3L, r.getLong(r.fieldIndex(RestTfSpark.MODEL_VERSION)));
        RestSegmenter.Segmentation seg = s.segment(in.resolve(name), RestSegmenter.Mode.WHOLE, 512, 341, false);
        assertEquals(seg.width(), r.getInt(r.fieldIndex(RestTfSpark.WIDTH)));
        assertEquals(seg.height(), r.getInt(r.fieldIndex(RestTfSpark.HEIGHT)));
        List<Row> areas = r.getList(r.fieldIndex(RestTfSpark.CLASS_AREAS));
        long sum = 0;
        double fractions = 0;
        for (Row a : areas) {
          int index = a.getInt(0);
          assertEquals(seg.areas()[index], a.getLong(2), "class " + index);
          assertEquals(s.labels().get(index), a.getString(1));
          sum += a.getLong(2);
          fractions += a.getDouble(3);
        }
        assertEquals((long) seg.width() * seg.height(), sum);
        assertEquals(1.0, fractions, 1e-9);
        Path mask = out.resolve(SparkSegmentCommand.MASKS).resolve(r.getString(r.fieldIndex(RestTfSpark.MASK_FILE)));
        BufferedImage png = ImageIO.read(mask.toFile());
        assertEquals(seg.width(), png.getWidth());
        Raster raster = png.getRaster();
        for (int y = 0; y < seg.height(); y += 7) {
          for (int x = 0; x < seg.width(); x += 5) assertEquals(seg.classMap()[y * seg.width() + x], raster.getSample(x, y, 0));
        }
      }
    }
    Row bad = m.get("file:" + in.resolve("bad.jpg"));
    assertNotNull(bad.getString(bad.fieldIndex(RestTfSpark.ERROR)));
    assertTrue(bad.isNullAt(bad.fieldIndex(RestTfSpark.MASK_FILE)));
    // nothing but the output beside it: the staging folder was renamed
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of("scenes", "seg-out"), s.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void readsParquetTablesAndTfRecordShards(@TempDir Path tmp) throws Exception {
    // a table with its own column names, as a user's catalogue would have them
    List<Row> catalogue = new ArrayList<>();
    List<Path> pngs = SparkTestData.demoPngs().subList(0, 10);
    for (Path p : pngs) catalogue.add(RowFactory.create(p.getFileName().toString(), Files.readAllBytes(p)));
    StructType schema = new StructType().add("sku", DataTypes.StringType).add("jpeg", DataTypes.BinaryType);
    Path table = tmp.resolve("catalogue");
    spark.createDataFrame(catalogue, schema).write().parquet(table.toString());
    Dataset<Row> fromTable = ImageSources.table(spark.read().parquet(table.toString()), "sku", "jpeg");
    Map<String, Row> t = byPath(RestTfSpark.classify(fromTable, SparkTestData.classifier().toString(), SparkOptions.defaults()).collectAsList());
    assertEquals(10, t.size());

    // two shards of tf.Example: image/filename names the rows; a record without image/encoded is an error row
    Path shards = tmp.resolve("shards");
    Files.createDirectories(shards);
    for (int s = 0; s < 2; s++) {
      try (TfRecords.Writer w = new TfRecords.Writer(shards.resolve("part-" + s + ".tfrecord"))) {
        for (int i = s * 5; i < s * 5 + 5; i++) {
          w.write(new ImageExample(Files.readAllBytes(pngs.get(i)), "png", -1, null, 0, 0, pngs.get(i).getFileName().toString()).toBytes());
        }
        if (s == 1) w.write(new byte[] {1, 2, 3});
      }
    }
    Map<String, Row> r = byPath(RestTfSpark.classify(ImageSources.read(spark, "tfrecord:" + shards + "/part-*.tfrecord"),
        SparkTestData.classifier().toString(), SparkOptions.defaults()).collectAsList());
    assertEquals(11, r.size());
    for (Path p : pngs) {
      Row a = r.get(p.getFileName().toString()), b = t.get(p.getFileName().toString());
      assertNull(a.getString(a.fieldIndex(RestTfSpark.ERROR)));
      assertEquals(b.getString(b.fieldIndex(RestTfSpark.LABEL)), a.getString(a.fieldIndex(RestTfSpark.LABEL)));
      assertEquals(b.getFloat(b.fieldIndex(RestTfSpark.PROBABILITY)), a.getFloat(a.fieldIndex(RestTfSpark.PROBABILITY)), 1e-6);
    }
    Row bad = r.get(shards.resolve("part-1.tfrecord").toAbsolutePath() + "#5");
    assertNotNull(bad, r.keySet().toString());
    assertTrue(bad.getString(bad.fieldIndex(RestTfSpark.ERROR)).contains("tf.Example"), bad.toString());
  }

  @Test
  void aMissingModelFailsBeforeAnyTaskRuns(@TempDir Path tmp) throws Exception {
    AtomicInteger tasks = new AtomicInteger();
    SparkListener count = new SparkListener() {
      @Override
      public void onTaskStart(SparkListenerTaskStart taskStart) {
        tasks.incrementAndGet();
      }
    };
    spark.sparkContext().addSparkListener(count);
    try {
      Dataset<Row> images = ImageSources.read(spark, SparkTestData.DEMO_IMAGES.toString());
      String missing = tmp.resolve("no-such-model").toString();
      BadInputException e = assertThrows(BadInputException.class, () -> RestTfSpark.write(spark, tmp.resolve("out").toString(), List.of(), false,
          staging -> RestTfSpark.classify(images, missing, SparkOptions.defaults())));
      assertEquals(missing + ": no such directory", e.getMessage());
      BadInputException wrongKind = assertThrows(BadInputException.class,
          () -> RestTfSpark.classify(images, SparkTestData.segmenter().toString(), SparkOptions.defaults()));
      assertTrue(wrongKind.getMessage().contains("a segmentation export, not a classification model"), wrongKind.getMessage());
      BadInputException embedSeg = assertThrows(BadInputException.class,
          () -> RestTfSpark.segment(images, SparkTestData.classifier().toString(), SparkOptions.defaults()));
      assertTrue(embedSeg.getMessage().contains("not a segmentation model"), embedSeg.getMessage());
      spark.sparkContext().listenerBus().waitUntilEmpty();
      assertEquals(0, tasks.get(), "tasks ran before the model was checked");
      assertFalse(Files.exists(tmp.resolve("out")));
    } finally {
      spark.sparkContext().removeSparkListener(count);
    }
  }

  @Test
  void aFailedJobLeavesNoOutputAndAnExistingOneIsKept(@TempDir Path tmp) throws Exception {
    Dataset<Row> images = ImageSources.read(spark, SparkTestData.DEMO_IMAGES.toString());
    Path out = tmp.resolve("out");
    // the executors look for the model where it is not: every task fails, after some Parquet may be written
    SparkOptions wrongPath = SparkOptions.defaults().withExecutorModelDir(tmp.resolve("not-shipped").toString());
    assertThrows(Exception.class, () -> RestTfSpark.write(spark, out.toString(), List.of(), false,
        staging -> RestTfSpark.classify(images, SparkTestData.classifier().toString(), wrongPath)));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of(), s.toList(), "a failed job left files behind");
    }
    RestTfSpark.Written w = RestTfSpark.write(spark, out.toString(), List.of(RestTfSpark.LABEL), false,
        staging -> RestTfSpark.classify(images, SparkTestData.classifier().toString(), SparkOptions.defaults()));
    assertEquals(40, w.rows());
    assertEquals(0, w.errors());
    try (Stream<Path> s = Files.list(out)) {
      assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("label=")), "partitioned by label");
    }
    BadInputException exists = assertThrows(BadInputException.class, () -> RestTfSpark.write(spark, out.toString(), List.of(), false,
        staging -> RestTfSpark.classify(images, SparkTestData.classifier().toString(), SparkOptions.defaults())));
    assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
    BadInputException arrayColumn = assertThrows(BadInputException.class, () -> RestTfSpark.write(spark, tmp.resolve("o2").toString(),
        List.of(RestTfSpark.TOP_LABELS), false, staging -> RestTfSpark.classify(images, SparkTestData.classifier().toString(), SparkOptions.defaults())));
    assertTrue(arrayColumn.getMessage().startsWith("partition column 'top_labels': a array<string>"), arrayColumn.getMessage());
    assertEquals(40, spark.read().parquet(out.toString()).count());
  }
}
