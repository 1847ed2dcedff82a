package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.model.RestModel;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.proto.BytesList;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;

/**
 * Every kind of export (classification, classification with the batch-1 bands, segmentation) loaded by other
 * TensorFlow runtimes, each in a JVM of
 * its own whose class path holds only that runtime's jars ({@code target/tf-runtimes/NAME/}, copied there by
 * the module's pom from Maven): TF 2.16.2 (TF Java 1.0.0), TF 2.10.1 (TF Java 0.5.0, whose oneDNN LayerNorm fusion
 * drops epsilon unless the graph guards against it) and TF 2.4.1 (TF Java 0.3.3, the oldest that runs every
 * signature). Every signature runs
 * on the same inputs as under this project's TF 2.18 (also in a child JVM, through the same runner), outputs
 * agree within 1e-5 (labels, indices and class maps exactly), and the load logs no error-level line, with
 * TensorFlow's logging fully on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CrossRuntimeTest {
  static final Path RUNTIMES = Path.of("target/tf-runtimes");
  static final Path RUNNER = Path.of("src/test/runtime/CrossRuntimeRunner.java");
  static final double TOLERANCE = 1e-5;
  /** A TensorFlow log line of level error or fatal: "2026-01-01 12:00:00.123456: E tensorflow/…" or absl's "E0101 …". */
  static final Pattern ERROR_LINE = Pattern.compile("^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+: [EF] |[EF]\\d{4} )");

  private Path work;
  private final Map<String, Path> exports = new TreeMap<>();
  private final Map<String, Path> inputs = new TreeMap<>();
  /** export kind → output directory of the TF 2.18 run. */
  private final Map<String, Path> reference = new TreeMap<>();

  @BeforeAll
  void exportAndRunUnderThisRuntime() throws Exception {
    work = Path.of("target/cross-runtime");
    io.resttf.util.AtomicFiles.deleteRecursively(work); // an earlier run's outputs
    Files.createDirectories(work);
    byte[] jpg = TestModels.resource("pil/odd_333x517.jpg");
    byte[] png = TestModels.resource("pil/rgba_97x150.png");

    // classification: the restv2_tiny-narrow fixture, every signature
    exports.put("classification", TestModels.exported(TestModels.V2).versionDir());
    Path ci = Files.createDirectories(work.resolve("in-classification"));
    long[] shape = {2, 64, 96, 3};
    float[] pixels = pixels(shape);
    for (String sig : List.of(ServingSignatures.SERVING_DEFAULT, ServingSignatures.FEATURES)) {
      TensorFiles.writeFloats(ci.resolve(sig + ".pixel_values.t"), shape, pixels);
    }
    for (String sig : List.of(ServingSignatures.CLASSIFY_IMAGES, ServingSignatures.PREPROCESS_IMAGES)) {
      TensorFiles.writeStrings(ci.resolve(sig + ".image_bytes.t"), List.of(jpg, png));
    }
    TensorFiles.writeStrings(ci.resolve(ServingSignatures.CLASSIFY + ".inputs.t"), List.of(example(jpg), example(png)));
    inputs.put("classification", ci);

    // classification with the batch-1 bands built in (export --bands on: Switch / Merge, band slices), one image so
    // that the bands run
    exports.put("classification-bands", new SavedModelExporter(work.resolve("models")).export("bands",
        TestModels.config(TestModels.V2), TestModels.weights(TestModels.V2), TestModels.metadata(TestModels.V2),
        SavedModelExporter.Options.DEFAULT.withBands(io.resttf.model.RestNetwork.Bands.ON)).versionDir());
    Path bi = Files.createDirectories(work.resolve("in-classification-bands"));
    long[] one = {1, 64, 96, 3};
    TensorFiles.writeFloats(bi.resolve(ServingSignatures.SERVING_DEFAULT + ".pixel_values.t"), one, pixels(one));
    TensorFiles.writeStrings(bi.resolve(ServingSignatures.CLASSIFY_IMAGES + ".image_bytes.t"), List.of(jpg));
    inputs.put("classification-bands", bi);

    // segmentation: the mmseg UPerNet fixture
    Path seg = DenseExportTest.SEG;
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(seg.resolve("weights.pth"), false, null);
    ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
    exports.put("segmentation", new SavedModelExporter(work.resolve("models")).exportDense("seg",
        DenseExport.segmentor(d.backbone().config(), d.head(), List.of()), w.stateDict(), RestModel.LoadOptions.STRICT,
        SavedModelExporter.Options.DEFAULT).versionDir());
    Path si = Files.createDirectories(work.resolve("in-segmentation"));
    long[] segShape = {1, 64, 96, 3};
    for (String sig : List.of(ServingSignatures.SERVING_DEFAULT, ServingSignatures.FEATURES)) {
      TensorFiles.writeFloats(si.resolve(sig + ".pixel_values.t"), segShape, pixels(segShape));
    }
    for (String sig : List.of(ServingSignatures.SEGMENT_IMAGES, ServingSignatures.PREPROCESS_IMAGES)) {
      TensorFiles.writeStrings(si.resolve(sig + ".image_bytes.t"), List.of(png));
    }
    inputs.put("segmentation", si);

    String thisRuntime = System.getProperty("java.class.path");
    Path classes = compileRunner("tf-2.18", thisRuntime);
    for (String kind : exports.keySet()) {
      Path out = work.resolve("out-tf-2.18-" + kind);
      String log = run(classes, thisRuntime, kind, out);
      assertTrue(log.contains("tensorflow 2.18"), log);
      reference.put(kind, out);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"tf-2.16.2", "tf-2.10.1", "tf-2.4.1"})
  void everySignatureOfEveryExportRunsUnchangedInAnotherRuntime(String runtime) throws Exception {
    Path jars = RUNTIMES.resolve(runtime);
    assertTrue(Files.isDirectory(jars), jars + " is missing: the module's pom copies it (mvn generate-test-resources)");
    String cp;
    try (Stream<Path> s = Files.list(jars)) {
      cp = String.join(File.pathSeparator, s.filter(p -> p.toString().endsWith(".jar")).sorted().map(Path::toString).toList());
    }
    Path classes = compileRunner(runtime, cp);
    for (String kind : exports.keySet()) {
      Path out = work.resolve("out-" + runtime + "-" + kind);
      String log = run(classes, cp, kind, out);
      assertTrue(log.contains("tensorflow " + runtime.substring(3)), "not the runtime asked for:\n" + log);
      Path ref = reference.get(kind);
      List<String> expected = names(ref), got = names(out);
      assertEquals(expected, got, kind + ": outputs under " + runtime + " vs TF 2.18");
      assertTrue(expected.size() >= (kind.equals("classification") ? 13 : kind.equals("classification-bands") ? 4 : 8),
          kind + ": too few outputs " + expected);
      for (String f : expected) compare(kind + " " + runtime + " " + f, TensorFiles.read(ref.resolve(f)), TensorFiles.read(out.resolve(f)));
    }
  }

  static void compare(String what, TensorFiles.Value ref, TensorFiles.Value got) {
    assertEquals(ref.dtype(), got.dtype(), what + ": dtype");
    assertTrue(Arrays.equals(ref.shape(), got.shape()), what + ": shape " + Arrays.toString(got.shape()) + " vs " + Arrays.toString(ref.shape()));
    if (ref.dtype() == TensorFiles.STRING) {
      for (int i = 0; i < ref.strings().size(); i++) {
        assertTrue(Arrays.equals(ref.strings().get(i), got.strings().get(i)), what + "[" + i + "]: "
            + new String(got.strings().get(i), StandardCharsets.UTF_8) + " vs " + new String(ref.strings().get(i), StandardCharsets.UTF_8));
      }
    } else if (ref.dtype() == TensorFiles.FLOAT32) {
      double max = 0;
      for (int i = 0; i < ref.numbers().length; i++) max = Math.max(max, Math.abs(ref.numbers()[i] - got.numbers()[i]));
      assertTrue(max <= TOLERANCE, what + ": max |difference| " + max + " > " + TOLERANCE);
    } else {
      assertTrue(Arrays.equals(ref.numbers(), got.numbers()), what + ": integer outputs differ");
    }
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** Compiles the runner against {@code classPath} alone (so it uses only that runtime's API). */
  private Path compileRunner(String runtime, String classPath) throws IOException {
    Path classes = Files.createDirectories(work.resolve("runner-" + runtime));
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    assertNotNull(javac, "no Java compiler in " + System.getProperty("java.home") + " (a JDK is needed)");
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    int rc = javac.run(null, err, err, "-proc:none", "-d", classes.toString(), "-cp", classPath, RUNNER.toString());
    if (rc != 0) fail("the runner does not compile against " + runtime + ":\n" + err);
    return classes;
  }

  /** Runs the runner on one export in a fresh JVM; checks its exit and that no error-level line was logged. */
  private String run(Path classes, String cp, String kind, Path out) throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx2g", "-cp", classes + File.pathSeparator + cp,
        "CrossRuntimeRunner", exports.get(kind).toString(), inputs.get(kind).toString(), out.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "0"); // every log line, so an error-level one cannot hide
    pb.environment().remove("ONEDNN_MAX_CPU_ISA");
    Process p = pb.start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    assertEquals(0, rc, kind + ": the runner exited " + rc + ":\n" + log);
    List<String> errors = log.lines().filter(l -> ERROR_LINE.matcher(l).find()).toList();
    assertTrue(errors.isEmpty(), kind + ": error-level lines while loading / running:\n" + String.join("\n", errors));
    Map<String, String> ran = new TreeMap<>();
    log.lines().filter(l -> l.startsWith("ran ")).forEach(l -> ran.put(l.split(" ")[1], l));
    assertEquals(new TreeSet<>(signaturesWithInputs(kind)), ran.keySet(), kind + ": signatures run:\n" + log);
    return log;
  }

  private List<String> signaturesWithInputs(String kind) throws IOException {
    try (Stream<Path> s = Files.list(inputs.get(kind))) {
      return s.map(p -> p.getFileName().toString()).map(n -> n.substring(0, n.indexOf('.'))).distinct().toList();
    }
  }

  static float[] pixels(long[] shape) {
    int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (2.0 * Math.sin(0.37 * i) + 0.5 * Math.cos(0.011 * i));
    return v;
  }

  /** A serialized tf.Example with the image's bytes under image/encoded, as TF Serving's classify request sends. */
  static byte[] example(byte[] image) {
    return Example.newBuilder().setFeatures(Features.newBuilder()
            .putFeature(ServingSignatures.IMAGE_ENCODED_FEATURE,
                Feature.newBuilder().setBytesList(BytesList.newBuilder().addValue(ByteString.copyFrom(image))).build()))
        .build().toByteArray();
  }
}
