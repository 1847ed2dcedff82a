package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of bad input: exit code 2 and one stderr line that names the problem. */
class BadInputTest {
  static final Path CASE = Fixtures.parity("restv2_tiny-narrow");
  static final String CONFIG = CASE.resolve("config.json").toString();
  static final String WEIGHTS = CASE.resolve("weights.safetensors").toString();
  static final String INPUT = CASE.resolve("input_1.npy").toString();

  @TempDir static Path tmp;
  static Map<String, HostTensor> stateDict;
  static String fixtureConfigJson;

  @BeforeAll
  static void load() throws IOException {
    stateDict = Safetensors.read(CASE.resolve("weights.safetensors"));
    fixtureConfigJson = Files.readString(CASE.resolve("config.json"));
  }

  static Path file(String name) {
    return tmp.resolve(name);
  }

  static Path writeConfig(String name, String json) throws IOException {
    Path p = file(name);
    Files.writeString(p, json);
    return p;
  }

  static Path writeInput(String name, long... shape) {
    Path p = file(name);
    Npy.write(p, HostTensor.ofFloats(shape, new float[(int) HostTensor.numElements(shape)]));
    return p;
  }

  static CliRun forward(String weights, String input, String layout) {
    return CliRun.of("forward", "--config", CONFIG, "--weights", weights, "--input", input, "--layout", layout,
        "--out", file("out").toString());
  }

  static CliRun forwardWithWeights(Map<String, HostTensor> sd, String name) {
    Path p = file(name);
    Safetensors.write(p, sd, null);
    return forward(p.toString(), INPUT, "nchw");
  }

  // ---- model choice and config

  @Test
  void unknownVariant() {
    CliRun.of("summary", "--variant", "rest_huge").badInput("unknown variant", "rest_huge", "restv2_tiny");
  }

  @Test
  void configMissingAField() throws IOException {
    String json = "{\"family\": \"v2\", \"embed_dims\": [16, 32, 64, 128], \"num_heads\": [1, 2, 4, 8],"
        + " \"sr_ratios\": [8, 4, 2, 1], \"mlp_ratios\": [4, 4, 4, 4], \"num_classes\": 10, \"in_chans\": 3}";
    CliRun.of("summary", "--config", writeConfig("nodepths.json", json).toString()).badInput("missing", "depths");
  }

  @Test
  void configHeadsNotDividingDims() throws IOException {
    String json = fixtureConfigJson.replaceFirst("\"num_heads\": \\[\\s*1,", "\"num_heads\": [5,");
    CliRun.of("summary", "--config", writeConfig("heads.json", json).toString()).badInput("num_heads", "divide");
  }

  @Test
  void configListOfWrongLength() throws IOException {
    String json = fixtureConfigJson.replaceFirst("\"depths\": \\[[^\\]]*\\]", "\"depths\": [1, 2, 6]");
    CliRun.of("summary", "--config", writeConfig("len.json", json).toString()).badInput("depths", "4 entries", "got 3");
  }

  @Test
  void configNotJson() throws IOException {
    CliRun.of("summary", "--config", writeConfig("broken.json", "{\"family\": ").toString()).badInput("JSON");
  }

  @Test
  void configFileMissing() {
    CliRun.of("summary", "--config", file("nope.json").toString()).badInput("no such file");
  }

  // ---- input

  @Test
  void inputNot4d() {
    forward(WEIGHTS, writeInput("3d.npy", 3, 64, 64).toString(), "nhwc").badInput("4-D", "[3, 64, 64]");
    forward(WEIGHTS, writeInput("3d.npy", 3, 64, 64).toString(), "nchw").badInput("4-D", "[3, 64, 64]");
  }

  @Test
  void wrongChannelCount() {
    forward(WEIGHTS, writeInput("c4.npy", 1, 4, 64, 64).toString(), "nchw").badInput("4 channels", "takes 3");
    // an NCHW file read as NHWC: the message says what to do
    forward(WEIGHTS, INPUT, "nhwc").badInput("96 channels", "takes 3", "--layout nchw");
  }

  @Test
  void heightNotAMultipleOf32() {
    forward(WEIGHTS, writeInput("h48.npy", 1, 3, 48, 64).toString(), "nchw").badInput("height 48", "multiple of 32");
  }

  @Test
  void heightBelow32() {
    forward(WEIGHTS, writeInput("h16.npy", 1, 3, 16, 64).toString(), "nchw").badInput("height 16", "at least 32");
  }

  @Test
  void widthNotAMultipleOf32() {
    forward(WEIGHTS, writeInput("w40.npy", 1, 3, 64, 40).toString(), "nchw").badInput("width 40");
  }

  @Test
  void malformedNpy() throws IOException {
    Path p = file("junk.npy");
    Files.write(p, "this is not an npy file at all".getBytes());
    forward(WEIGHTS, p.toString(), "nchw").badInput("junk.npy");
    Path truncated = file("truncated.npy");
    byte[] good = Files.readAllBytes(CASE.resolve("input_1.npy"));
    Files.write(truncated, Arrays.copyOf(good, good.length - 100));
    forward(WEIGHTS, truncated.toString(), "nchw").badInput("truncated.npy", "truncated");
  }

  @Test
  void badLayoutValue() {
    forward(WEIGHTS, INPUT, "chwn").badInput("--layout", "chwn");
  }

  // ---- weights

  @Test
  void weightsWithAMissingKey() {
    Map<String, HostTensor> sd = new LinkedHashMap<>(stateDict);
    sd.remove("stage3.2.attn.q.weight");
    forwardWithWeights(sd, "missing.safetensors").badInput("missing", "stage3.2.attn.q.weight");
  }

  @Test
  void weightsWithAnExtraKey() {
    Map<String, HostTensor> sd = new LinkedHashMap<>(stateDict);
    sd.put("stage9.extra.weight", HostTensor.ofFloats(new long[] {2}, new float[2]));
    forwardWithWeights(sd, "extra.safetensors").badInput("unexpected", "stage9.extra.weight");
  }

  @Test
  void weightsWithAWrongShape() {
    Map<String, HostTensor> sd = new LinkedHashMap<>(stateDict);
    sd.put("head.bias", HostTensor.ofFloats(new long[] {11}, new float[11]));
    forwardWithWeights(sd, "shape.safetensors").badInput("wrong shape", "head.bias", "[10]", "[11]");
  }

  @Test
  void weightsOfRandomBytes() throws IOException {
    Path p = file("random.safetensors");
    byte[] junk = new byte[4096];
    new Random(7).nextBytes(junk);
    Files.write(p, junk);
    forward(p.toString(), INPUT, "nchw").badInput("random.safetensors");
  }

  @Test
  void weightsTruncatedSafetensors() throws IOException {
    Path p = file("truncated.safetensors");
    byte[] good = Files.readAllBytes(CASE.resolve("weights.safetensors"));
    Files.write(p, Arrays.copyOf(good, good.length - 1000));
    forward(p.toString(), INPUT, "nchw").badInput("truncated.safetensors");
  }

  @Test
  void weightsOfAnotherModelGiveOneBoundedLine() {
    String line = CliRun.of("forward", "--variant", "restv2_tiny", "--weights", WEIGHTS, "--input", INPUT,
        "--layout", "nchw", "--out", file("out").toString()).badInput("wrong shape", "stem.proj.0.weight");
    assertTrue(line.length() < Main.MAX_MESSAGE + 200, "length " + line.length());
  }

  @Test
  void emaFromASafetensorsFile() {
    CliRun.of("forward", "--config", CONFIG, "--weights", WEIGHTS, "--ema", "--input", INPUT, "--layout", "nchw",
        "--out", file("out").toString()).badInput("EMA");
  }

  @Test
  void weightsFileMissing() {
    forward(file("absent.safetensors").toString(), INPUT, "nchw").badInput("absent.safetensors", "no such file");
  }

  // ---- usage

  @Test
  void variantAndConfigTogether() {
    CliRun.of("summary", "--variant", "rest_lite", "--config", CONFIG).badInput("mutually exclusive");
  }

  @Test
  void neitherVariantNorConfig() {
    CliRun.of("summary").badInput("--variant", "--config");
  }

  @Test
  void missingRequiredOption() {
    CliRun.of("forward", "--variant", "rest_lite", "--input", INPUT, "--out", file("o").toString())
        .badInput("missing required option", "--weights");
  }

  @Test
  void unknownOptionAndVerb() {
    CliRun.of("summary", "--variant", "rest_lite", "--frobnicate").badInput("--frobnicate");
    CliRun.of("frobnicate").badInput("frobnicate");
  }

  @Test
  void noVerb() {
    CliRun.of().badInput("missing verb");
  }

  @Test
  void notANumber() {
    CliRun.of("bench", "--variant", "rest_lite", "--iters", "many").badInput("--iters", "many");
  }

  @Test
  void benchLimits() {
    CliRun.of("bench", "--variant", "rest_lite", "--size", "100").badInput("--size", "multiple of 32");
    CliRun.of("bench", "--variant", "rest_lite", "--size", "0").badInput("--size");
    CliRun.of("bench", "--variant", "rest_lite", "--batch", "0").badInput("--batch");
    CliRun.of("bench", "--variant", "rest_lite", "--iters", "0").badInput("--iters");
  }

  @Test
  void outputPathIsAFile() throws IOException {
    Path f = file("a-file");
    Files.writeString(f, "x");
    CliRun r = CliRun.of("forward", "--config", CONFIG, "--weights", WEIGHTS, "--input", INPUT, "--layout", "nchw",
        "--out", f.toString());
    r.badInput("not a directory");
  }

  @Test
  void otherFailuresExitWith1() {
    // not bad input: the code path for anything else still gives one line
    java.io.StringWriter sw = new java.io.StringWriter();
    int code = Main.report(new java.io.PrintWriter(sw), new IllegalStateException("boom\nsecond line"));
    assertEquals(1, code);
    assertEquals(1, sw.toString().strip().lines().count(), sw.toString());
    assertTrue(sw.toString().startsWith("rest-tf: boom; second line"), sw.toString());
    sw = new java.io.StringWriter();
    assertEquals(1, Main.report(new java.io.PrintWriter(sw), new OutOfMemoryError("Java heap space")));
    assertTrue(sw.toString().contains("out of memory"), sw.toString());
    sw = new java.io.StringWriter();
    assertEquals(2, Main.report(new java.io.PrintWriter(sw),
        new RuntimeException("wrapped", new io.resttf.tensor.BadInputException("inner reason"))));
    assertEquals("rest-tf: inner reason", sw.toString().strip());
  }
}
