package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11, items 4–6: non-finite weights, SavedModel integrity, one error vocabulary — one test per case. */
class IntegrityCommandsTest {
  static final Path CASE = Fixtures.parity("restv2_tiny-narrow");

  @TempDir static Path shared;
  static Path base;
  static Path nanWeights;
  static String nanKey;

  @BeforeAll
  static void exportOnceAndWriteNanWeights() throws IOException {
    base = shared.resolve("models");
    CliRun.of("export", "--checkpoint", CASE.resolve("weights.safetensors").toString(), "--name", "tiny",
        "--base", base.toString(), "--image-size", "64").ok();
    Map<String, HostTensor> w = new LinkedHashMap<>(Safetensors.read(CASE.resolve("weights.safetensors")));
    // the head's bias, so forward's logits turn NaN too
    nanKey = w.keySet().stream().filter(k -> k.startsWith("head") && k.endsWith("bias")).findFirst()
        .orElse(w.keySet().iterator().next());
    HostTensor t = w.get(nanKey);
    float[] v = t.toFloats().clone();
    v[0] = Float.NaN;
    w.put(nanKey, HostTensor.ofFloats(t.shape(), v));
    nanWeights = shared.resolve("nan.safetensors");
    Safetensors.write(nanWeights, w, Map.of());
  }

  private static Path copyOfExport(Path tmp) throws IOException {
    Path src = base.resolve("tiny/1"), dst = tmp.resolve("tiny/1");
    try (Stream<Path> s = Files.walk(src)) {
      for (Path p : s.toList()) {
        Path q = dst.resolve(src.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(q);
        else Files.copy(p, q);
      }
    }
    return dst;
  }

  // ---- 4. non-finite weights ----

  @Test
  void nanWeightsAreRefusedByConvertNamingTheKey(@TempDir Path tmp) {
    CliRun.of("convert", "--checkpoint", nanWeights.toString(), "--out", tmp.resolve("c").toString())
        .badInput("NaN or infinite", nanKey, "--allow-nonfinite");
    assertFalse(Files.exists(tmp.resolve("c")), "nothing written");
    CliRun.of("convert", "--checkpoint", nanWeights.toString(), "--out", tmp.resolve("c").toString(), "--allow-nonfinite").ok();
  }

  @Test
  void nanWeightsAreRefusedByExportAndNoVersionIsWritten(@TempDir Path tmp) {
    CliRun.of("export", "--checkpoint", nanWeights.toString(), "--name", "nan", "--base", tmp.toString())
        .badInput("NaN or infinite", nanKey, "--allow-nonfinite");
    assertFalse(Files.exists(tmp.resolve("nan/1")), "no version TF Serving would serve");
    CliRun.of("export", "--checkpoint", nanWeights.toString(), "--name", "nan", "--base", tmp.toString(), "--allow-nonfinite").ok();
    assertTrue(Files.isDirectory(tmp.resolve("nan/1")));
  }

  @Test
  void forwardWarnsOnceOnNonFiniteOutputs(@TempDir Path tmp) {
    CliRun r = CliRun.of("forward", "--weights", nanWeights.toString(), "--input", CASE.resolve("input_0.npy").toString(),
        "--layout", "nchw", "--out", tmp.toString()).ok();
    String[] lines = r.err().strip().split("\\R");
    assertEquals(1, lines.length, r.err());
    assertTrue(lines[0].startsWith("rest-tf: warning: outputs hold NaN or infinite values: logits"), lines[0]);
  }

  @Test
  void runWarnsOnNonFiniteOutputs(@TempDir Path tmp) throws IOException {
    Path x = tmp.resolve("x.npy");
    HostTensor in = Npy.read(CASE.resolve("input_1.npy"));
    float[] v = io.resttf.tensor.Layouts.nchwToNhwc(in).toFloats().clone();
    v[0] = Float.POSITIVE_INFINITY;
    v[1] = Float.NEGATIVE_INFINITY;
    Npy.write(x, HostTensor.ofFloats(io.resttf.tensor.Layouts.nchwToNhwc(in).shape(), v));
    CliRun r = CliRun.of("run", "--model", base.resolve("tiny").toString(), "--input", "pixel_values=" + x,
        "--out", tmp.resolve("out").toString()).ok();
    assertTrue(r.err().strip().split("\\R").length == 1 && r.err().contains("rest-tf: warning: outputs hold NaN"), r.err());
  }

  // ---- 5. SavedModel integrity ----

  @Test
  void inspectSaysAWholeSavedModelIsValid() {
    String out = CliRun.of("inspect", base.resolve("tiny").toString()).ok().out();
    assertTrue(out.contains("integrity:  valid"), out);
  }

  @Test
  void deletedVariablesIndexIsRefusedByInspectClassifyAndRun(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    Files.delete(v.resolve("variables/variables.index"));
    CliRun.of("inspect", v.toString()).badInput("broken SavedModel", "variables/variables.index is missing");
    Path png = tmp.resolve("a.png");
    Files.write(png, DemoCommand.png(new byte[28 * 28]));
    CliRun.of("classify", "--model", v.toString(), png.toString()).badInput("variables/variables.index is missing");
    Path x = tmp.resolve("x.npy");
    Npy.write(x, HostTensor.ofFloats(new long[] {1, 64, 64, 3}, new float[64 * 64 * 3]));
    CliRun.of("run", "--model", v.toString(), "--input", "pixel_values=" + x, "--out", tmp.resolve("o").toString())
        .badInput("variables/variables.index is missing");
  }

  @Test
  void deletedVariablesDirectoryIsRefusedByInspect(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    io.resttf.util.AtomicFiles.deleteRecursively(v.resolve("variables"));
    CliRun.of("inspect", v.toString()).badInput("broken SavedModel", "variables/ is missing");
  }

  // ---- 6. one error vocabulary ----

  @Test
  void runWithAWrongShapeNamesTheInputAndTheExpectedShape(@TempDir Path tmp) {
    Path x = tmp.resolve("x.npy");
    Npy.write(x, HostTensor.ofFloats(new long[] {1, 8, 8, 4}, new float[8 * 8 * 4]));
    CliRun.of("run", "--model", base.resolve("tiny").toString(), "--input", "pixel_values=" + x, "--out", tmp.resolve("o").toString())
        .badInput("pixel_values", "[1, 8, 8, 4]", "expects float32 [-1, -1, -1, 3]");
  }

  @Test
  void runWithARank3InputSaysWhatRankIsExpected(@TempDir Path tmp) {
    Path x = tmp.resolve("x.npy");
    Npy.write(x, HostTensor.ofFloats(new long[] {8, 8, 3}, new float[8 * 8 * 3]));
    String line = CliRun.of("run", "--model", base.resolve("tiny").toString(), "--input", "pixel_values=" + x,
        "--out", tmp.resolve("o").toString()).badInput("pixel_values", "[8, 8, 3]", "[-1, -1, -1, 3]");
    assertFalse(line.contains("indices ="), line);
  }

  @Test
  void runWithAWrongDtypeNamesTheInputAndTheExpectedDtype(@TempDir Path tmp) {
    Path x = tmp.resolve("x.npy");
    Npy.write(x, HostTensor.ofLongs("I64", new long[] {1, 32, 32, 3}, new long[32 * 32 * 3]));
    CliRun.of("run", "--model", base.resolve("tiny").toString(), "--input", "pixel_values=" + x, "--out", tmp.resolve("o").toString())
        .badInput("pixel_values", "dtype I64", "float32");
  }

  @Test
  void exportToAnUnwritableTargetSaysTheOsReason() {
    // /sys refuses new directories even to root (a read-only or permission-denied target in general)
    String line = CliRun.of("export", "--checkpoint", CASE.resolve("weights.safetensors").toString(), "--name", "t",
        "--base", "/sys/rest-tf-export-test").badInput("/sys/rest-tf-export-test");
    assertTrue(line.contains("not permitted") || line.contains("permission denied") || line.contains("read-only"), line);
  }

  @Test
  void fullDiskTensorFlowMessageIsTranslated() {
    // a real full disk needs a tiny tmpfs (mount needs privileges this test must not assume): the recorded text
    StringWriter err = new StringWriter();
    int code = Main.report(new PrintWriter(err), new org.tensorflow.exceptions.TFResourceExhaustedException(
        "/m/.tmp-1-x/variables/variables_temp/part-00000-of-00001.data-00000-of-00001.tempstate1; No space left on device\n"
            + "\t [[{{node save/Save}}]]\nHint: If you want to s"));
    assertEquals(Main.BAD_INPUT, code);
    assertEquals("rest-tf: no space left on device", err.toString().strip());
  }

  @Test
  void tensorFlowFailuresPrintNoExceptionClassNorNodeName() {
    StringWriter err = new StringWriter();
    Main.report(new PrintWriter(err), new org.tensorflow.exceptions.TFFailedPreconditionException(
        "Attempting to use uninitialized value stem.proj.4.running_var\n\t [[{{node stem.proj.4.running_var/read}}]]"));
    String line = err.toString().strip();
    assertFalse(line.contains("Exception"), line);
    assertFalse(line.contains("{{node"), line);
    assertTrue(line.contains("uninitialized value stem.proj.4.running_var"), line);
  }

  @Test
  void helpWorksForEveryVerb() {
    List<String> verbs = List.copyOf(Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))
        .getSubcommands().keySet());
    assertTrue(verbs.contains("export") && verbs.size() > 10, verbs.toString());
    for (String verb : verbs) {
      CliRun r = CliRun.of(verb, "--help");
      assertEquals(0, r.code(), () -> verb + " --help: " + r.err());
      assertTrue(r.out().contains("Usage:"), () -> verb + " --help printed: " + r.out());
      assertEquals("", r.err(), verb);
    }
  }

  @Test
  void aFailingExportLeavesNoLockFile(@TempDir Path tmp) throws IOException {
    CliRun.of("export", "--checkpoint", nanWeights.toString(), "--name", "nan", "--base", tmp.toString()).badInput("NaN");
    CliRun.of("export", "--checkpoint", CASE.resolve("weights.safetensors").toString(), "--name", "tiny", "--base",
        base.toString(), "--version", "1").badInput("already exists");
    try (Stream<Path> s = Stream.concat(Files.walk(tmp), Files.walk(base))) {
      assertEquals(List.of(), s.filter(p -> p.getFileName().toString().endsWith(".lock")).toList());
    }
  }
}
