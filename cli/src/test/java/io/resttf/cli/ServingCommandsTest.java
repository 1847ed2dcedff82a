package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.training.data.FashionMnist;
import io.resttf.tensor.Layouts;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The main job and the SavedModel verbs: demo, export, inspect DIR, classify, run. */
class ServingCommandsTest {
  static final Pattern RESULT = Pattern.compile(
      "test set: (\\d+) images, accuracy ([0-9.]+) % \\(official ([0-9.]+) %\\), agreement with the official predictions ([0-9.]+) %");

  /** The demo's exported model predicts the official class for ≥ 99.9 % of the 10,000 test images. */
  @Test
  void demoReproducesTheOfficialFashionMnistModel(@TempDir Path tmp) throws Exception {
    assertTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist must be installed (ci/deps installs it)");
    String out = CliRun.of("demo", "--base", tmp.toString()).ok().out();
    assertTrue(out.contains("40/40 agree with the official predictions"), out);
    Matcher m = RESULT.matcher(out);
    assertTrue(m.find(), out);
    assertEquals(10000, Integer.parseInt(m.group(1)));
    double acc = Double.parseDouble(m.group(2)), official = Double.parseDouble(m.group(3));
    assertTrue(Math.abs(acc - official) <= 0.1, "accuracy " + acc + " vs official " + official);
    assertTrue(Double.parseDouble(m.group(4)) >= 99.9, out);
    assertTrue(Files.isRegularFile(tmp.resolve("fashion_restv2_micro/1/saved_model.pb")));
    assertTrue(Files.readString(tmp.resolve("models.config")).contains("fashion_restv2_micro"));
  }

  /**
   * --precision bf16 (oneDNN's bfloat16 mixed precision): the whole test set through the export keeps the
   * float32 model's top-1 class (the official predictions, which float32 reproduces 100 %) for ≥ 99.5 %.
   */
  @Test
  void demoInBfloat16AgreesWithFloat32(@TempDir Path tmp) throws Exception {
    assertTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist must be installed (ci/deps installs it)");
    String out = CliRun.of("demo", "--base", tmp.toString(), "--precision", "bf16").ok().out();
    Matcher m = RESULT.matcher(out);
    assertTrue(m.find(), out);
    assertEquals(10000, Integer.parseInt(m.group(1)));
    assertTrue(Double.parseDouble(m.group(4)) >= 99.5, out);
    CliRun.of("classify", "--model", tmp.resolve("fashion_restv2_micro").toString(), "--precision", "fp8", "x.png")
        .badInput("--precision", "fp8");
    // an export with bfloat16 weight copies: recorded, and classify in bf16 runs on it
    Path weights = Fixtures.parity("restv2_tiny-narrow").resolve("weights.pth");
    CliRun.of("export", "--checkpoint", weights.toString(), "--name", "tiny_bf16", "--base", tmp.toString(),
        "--precision", "bf16").ok();
    assertEquals("bf16", new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(tmp.resolve("tiny_bf16/1/assets/rest_tf.json").toFile()).path("precision").asText());
    String image = Path.of("src/main/resources/io/resttf/cli/demo/images/test_0000.png").toAbsolutePath().toString();
    assertTrue(CliRun.of("classify", "--model", tmp.resolve("tiny_bf16").toString(), "--precision", "bf16", image).ok()
        .out().contains("test_0000.png"));
    CliRun.of("export", "--checkpoint", weights.toString(), "--name", "tiny_fp16", "--base", tmp.toString(),
        "--precision", "fp16").badInput("--precision", "fp16");
    // --bands: recorded; a bad value is one line and writes nothing
    CliRun.of("export", "--checkpoint", weights.toString(), "--name", "tiny_bands", "--base", tmp.toString(),
        "--bands", "on").ok();
    assertTrue(new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(tmp.resolve("tiny_bands/1/assets/rest_tf.json").toFile()).path("batch1_bands").asBoolean());
    CliRun.of("export", "--checkpoint", weights.toString(), "--name", "tiny_sometimes", "--base", tmp.toString(),
        "--bands", "sometimes").badInput("--bands", "sometimes");
    assertFalse(java.nio.file.Files.exists(tmp.resolve("tiny_sometimes")));
  }

  @Test
  void exportInspectClassifyAndRun(@TempDir Path tmp) throws Exception {
    Path dir = Fixtures.parity("restv2_tiny-narrow");
    Path base = tmp.resolve("models");
    String e = CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny",
        "--base", base.toString(), "--image-size", "64").ok().out();
    assertTrue(e.contains("tiny/1"), e);
    // an existing version is never overwritten without --force
    CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny", "--base", base.toString(),
        "--version", "1").badInput("already exists");
    CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny", "--base", base.toString()).ok();
    assertTrue(Files.isDirectory(base.resolve("tiny/2")), "next free version");

    // TF Serving's version policy and labels: checked before the weights are read, kept for later exports
    CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny", "--base", base.toString(),
        "--version-policy", "newest").badInput("version policy", "newest");
    CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny", "--base", base.toString(),
        "--version-label", "stable=1").badInput("version label stable", "not served");
    CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny", "--base", base.toString(),
        "--version-label", "stable").badInput("--version-label", "LABEL=VERSION");
    assertFalse(Files.exists(base.resolve("tiny/3")), "nothing exported on a refused policy");
    String v = CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny", "--base", base.toString(),
        "--version-policy", "latest:2", "--version-label", "stable=2", "--version-label", "canary=this").ok().out();
    assertTrue(v.contains("versions: policy latest:2, labels {canary=3, stable=2}"), v);
    String config = Files.readString(base.resolve("models.config"));
    assertTrue(config.contains("num_versions: 2") && config.contains("key: \"canary\"\n      value: 3"), config);

    String i = CliRun.of("inspect", base.resolve("tiny").toString()).ok().out();
    assertTrue(i.contains("signature serving_default (tensorflow/serving/predict)"), i);
    assertTrue(i.contains("input   pixel_values  float [-1, -1, -1, 3]"), i);
    assertTrue(i.contains("input   image_bytes  string [-1]"), i);
    assertTrue(i.contains("output  stage4"), i);

    // run: the reference logits through serving_default
    Path x = tmp.resolve("x.npy");
    Npy.write(x, Layouts.nchwToNhwc(Npy.read(dir.resolve("input_1.npy"))));
    Path out = tmp.resolve("out");
    CliRun.of("run", "--model", base.resolve("tiny/1").toString(), "--input", "pixel_values=" + x, "--out", out.toString()).ok();
    float[] ref = Npy.read(dir.resolve("logits_1.npy")).toFloats(), got = Npy.read(out.resolve("logits.npy")).toFloats();
    for (int k = 0; k < ref.length; k++) assertEquals(ref[k], got[k], 1e-4);
    float[] probs = Npy.read(out.resolve("probabilities.npy")).toFloats();
    double total = 0;
    for (float p : probs) total += p;
    assertEquals(1.0, total, 1e-4, "one row of probabilities sums to 1");
    CliRun.of("run", "--model", base.resolve("tiny/1").toString(), "--input", "nope=" + x, "--out", out.toString())
        .badInput("no input", "nope");
    CliRun.of("run", "--model", base.resolve("tiny/1").toString(), "--signature", "bogus", "--input", "pixel_values=" + x,
        "--out", out.toString()).badInput("no signature", "bogus");

    // classify: a good image, a corrupt one; the good one still gets its line, exit 2 for the failure
    Path good = tmp.resolve("good.png");
    Files.write(good, DemoCommand.png(new byte[28 * 28]));
    Path bad = tmp.resolve("bad.jpg");
    Files.write(bad, new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 1, 2, 3});
    CliRun c = CliRun.of("classify", "--model", base.resolve("tiny").toString(), "--top-k", "3", good.toString(), bad.toString());
    assertEquals(2, c.code(), c.err());
    assertTrue(c.out().startsWith(good.toString() + ":") || c.out().contains("good.png:"), c.out());
    assertTrue(c.err().contains("bad.jpg"), c.err());
    assertFalse(c.err().contains("\tat "), c.err());
    CliRun.of("classify", "--model", tmp.resolve("missing").toString(), good.toString()).badInput("missing");

    // --parallel: batches at once, lines (and the corrupt image's error) as one batch at a time prints them
    List<String> files = new ArrayList<>();
    for (int n = 0; n < 7; n++) {
      Path png = tmp.resolve("img" + n + ".png");
      byte[] pixels = new byte[28 * 28];
      for (int q = 0; q < pixels.length; q++) pixels[q] = (byte) ((q * (n + 3) + n * 17) % 256);
      Files.write(png, DemoCommand.png(pixels));
      files.add(png.toString());
    }
    files.add(3, bad.toString());
    List<String> args = new ArrayList<>(List.of("classify", "--model", base.resolve("tiny").toString(), "--batch", "2"));
    CliRun one = CliRun.of(concat(args, List.of("--parallel", "1"), files));
    CliRun three = CliRun.of(concat(args, List.of("--parallel", "3"), files));
    CliRun auto = CliRun.of(concat(args, List.of(), files));
    assertEquals(2, one.code(), one.err());
    assertEquals(7, one.out().lines().count(), one.out());
    assertEquals(one.out(), three.out());
    assertEquals(one.out(), auto.out());
    assertEquals(one.err(), three.err());
    assertTrue(three.err().contains("bad.jpg"), three.err());
    CliRun.of(concat(args, List.of("--parallel", "0"), files)).badInput("--parallel", "1 to 64", "0");
  }

  @SafeVarargs
  private static String[] concat(List<String>... parts) {
    List<String> all = new ArrayList<>();
    for (List<String> p : parts) all.addAll(p);
    return all.toArray(new String[0]);
  }
}
