package io.resttf.spark;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.model.Preprocessing;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.serving.DenseExport;
import io.resttf.serving.ExportMetadata;
import io.resttf.serving.SavedModelExporter;
import io.resttf.testing.Fixtures;
import io.resttf.util.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/** Models, images and Spark sessions shared by this module's tests (made once per JVM, removed at exit). */
final class SparkTestData {
  /** The 40 Fashion-MNIST test PNGs the cli ships for its demo. */
  static final Path DEMO_IMAGES = Path.of("../cli/src/main/resources/io/resttf/cli/demo/images").toAbsolutePath().normalize();
  static final Path SEG_CHECKPOINT = Path.of("../converters/src/test/resources/io/resttf/seg/parity/restv2_tiny-narrow-upernet/weights.pth")
      .toAbsolutePath().normalize();
  static final Path ODD_JPEG = Path.of("../savedmodels/src/test/resources/io/resttf/serving/pil/odd_333x517.jpg").toAbsolutePath().normalize();
  /** The official Fashion-MNIST preprocessing (as the demo model's). */
  static final Preprocessing FASHION = Preprocessing.of(28, 1.0, List.of(0.2860), List.of(0.3530)).withPadAndUpsample(2, 2);

  private static Path base;
  private static Path classifier;
  private static Path segmenter;
  private static Path images;

  private SparkTestData() {}

  static synchronized Path base() {
    if (base == null) {
      try {
        base = Files.createTempDirectory("rest-tf-spark-test");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Path b = base;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> AtomicFiles.deleteQuietly(b)));
    }
    return base;
  }

  /** The official Fashion-MNIST ResTv2 checkpoint exported as model directory "fashion" (version 1). */
  static synchronized Path classifier() {
    if (classifier == null) {
      Path dir = Fixtures.root().resolve("fashion-restv2-micro");
      Path pth = dir.resolve("weights.pth");
      RestConfig config = RestConfig.read(dir.resolve("config.json"));
      List<String> labels = new ArrayList<>();
      Fixtures.json(dir.resolve("config.json")).path("labels").forEach(l -> labels.add(l.asText()));
      var weights = CheckpointFiles.read(pth, false, null);
      ExportMetadata meta = ExportMetadata.forCheckpoint(pth).withLabels(labels).withPreprocessing(FASHION);
      new SavedModelExporter(base()).export("fashion", config, weights.stateDict(), meta, SavedModelExporter.Options.DEFAULT.withVersion(1));
      classifier = base().resolve("fashion");
    }
    return classifier;
  }

  /** The UperNet fixture (restv2_tiny narrow, 10 classes) exported as model directory "seg". */
  static synchronized Path segmenter() {
    if (segmenter == null) {
      CheckpointFiles.LoadedWeights w = CheckpointFiles.read(SEG_CHECKPOINT, false, null);
      ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
      new SavedModelExporter(base()).exportDense("seg", DenseExport.segmentor(d.backbone().config(), d.head(), List.of()),
          w.stateDict(), RestModel.LoadOptions.STRICT, SavedModelExporter.Options.DEFAULT.withVersion(3));
      segmenter = base().resolve("seg");
    }
    return segmenter;
  }

  /**
   * An image folder: the 40 demo PNGs (half of them in a subfolder, to check the recursive listing), one file
   * that is no image but is named .png, and a text file that the folder input skips.
   */
  static synchronized Path images() {
    if (images == null) {
      try {
        Path dir = base().resolve("images");
        Files.createDirectories(dir.resolve("more"));
        int i = 0;
        for (Path png : demoPngs()) {
          Files.copy(png, (i++ % 2 == 0 ? dir : dir.resolve("more")).resolve(png.getFileName()));
        }
        Files.writeString(dir.resolve("broken.png"), "this is not a PNG");
        Files.writeString(dir.resolve("notes.txt"), "not an image, not listed");
        images = dir;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return images;
  }

  static List<Path> demoPngs() {
    try (Stream<Path> s = Files.list(DEMO_IMAGES)) {
      return s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An embedded Spark with {@code master} (local[2], local-cluster[2,1,1024], ...). */
  static SparkSession session(String master) {
    SparkSession.Builder b = SparkSession.builder().master(master).appName("rest-tf-spark-test")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
    if (master.startsWith("local-cluster")) {
      try {
        Files.createDirectories(Path.of(System.getenv("SPARK_HOME"), "jars"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      b.config("spark.executor.extraClassPath", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    }
    return b.getOrCreate();
  }
}
