package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11's bounded-resource and strict-config cases: each is refused with exit 2 and one line, before
 * a graph is built. The timeouts only guard against a hang (they were 180 s runs to 6.5 GB before).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ResourceLimitsTest {
  @TempDir static Path tmp;

  static final String STAGES = "\"num_heads\": [1, 2, 4, 8], \"sr_ratios\": [8, 4, 2, 1], \"mlp_ratios\": [4, 4, 4, 4],"
      + " \"num_classes\": 10, \"in_chans\": 3";

  static String config(String name, String dims, String depths, String extra) throws IOException {
    Path p = tmp.resolve(name);
    Files.writeString(p, "{\"family\": \"v2\", \"embed_dims\": " + dims + ", \"depths\": " + depths + ", " + STAGES + extra + "}");
    return p.toString();
  }

  static String small(String name, String extra) throws IOException {
    return config(name, "[16, 32, 64, 128]", "[1, 1, 1, 1]", extra);
  }

  // ---- hangs and memory blow-ups

  @Test
  void summaryWithTenMillionBlocksIsRefused() throws IOException {
    String cfg = config("deep.json", "[16, 32, 64, 128]", "[1, 1, 10000000, 1]", "");
    String line = CliRun.of("summary", "--config", cfg).badInput("depths", "between 1 and 1000", "10000000");
    assertTrue(line.startsWith("rest-tf: " + cfg + ": "), line);
  }

  @Test
  void benchWithHugeEmbedDimsIsRefusedBeforeBuilding() throws IOException {
    String cfg = config("wide.json", "[4096, 8192, 16384, 32768]", "[2, 2, 2, 2]", "");
    String line = CliRun.of("bench", "--config", cfg).badInput("needs about", "parameters", "more than this machine's");
    assertTrue(line.startsWith("rest-tf: config " + cfg + ": "), line);
  }

  @Test
  void summaryOfHugeEmbedDimsAnswersAtOnce() throws IOException {
    String cfg = config("wide2.json", "[4096, 8192, 16384, 32768]", "[2, 2, 2, 2]", "");
    CliRun r = CliRun.of("summary", "--config", cfg).ok();
    assertTrue(r.out().contains("parameters: "), r.out());
  }

  @Test
  void embedDimsOneBillionIsRefusedNotOverflowed() throws IOException {
    for (String dims : new String[] {"[1e9, 32, 64, 128]", "[1000000000, 32, 64, 128]"}) {
      String cfg = config("billion.json", dims, "[1, 1, 1, 1]", "");
      CliRun.of("bench", "--config", cfg).badInput(cfg, "embed_dims", "between 1 and 65536");
    }
    String cfg = config("trillion.json", "[1e12, 32, 64, 128]", "[1, 1, 1, 1]", "");
    CliRun.of("bench", "--config", cfg).badInput(cfg, "embed_dims[0] is out of range");
  }

  @Test
  void benchBatch100000IsRefused() {
    CliRun.of("bench", "--variant", "rest_lite", "--batch", "100000")
        .badInput("--batch 100000 --size 224", "needs about", "activations", "more than this machine's");
  }

  @Test
  void benchSize1000000IsRefused() {
    CliRun.of("bench", "--variant", "rest_lite", "--size", "1000000").badInput("--size", "16384", "1000000");
  }

  @Test
  void benchTrainHugeBatchIsRefused() {
    CliRun.of("bench-train", "--variant", "rest_lite", "--batch", "100000", "--size", "224")
        .badInput("--batch 100000 --size 224", "needs about");
  }

  @Test
  void forwardWithHugeConfigIsRefusedBeforeReadingWeights() throws IOException {
    String cfg = config("wide3.json", "[4096, 8192, 16384, 32768]", "[2, 2, 2, 2]", "");
    Path input = Fixtures.parity("restv2_tiny-narrow").resolve("input_1.npy");
    CliRun.of("forward", "--config", cfg, "--weights", tmp.resolve("absent.safetensors").toString(),
        "--input", input.toString(), "--layout", "nchw", "--out", tmp.resolve("out").toString())
        .badInput(cfg, "needs about");
  }

  @Test
  void trainAtAHugeSizeIsRefusedBeforeBuilding() throws IOException {
    Path data = tmp.resolve("images");
    for (String c : new String[] {"a", "b"}) {
      Files.createDirectories(data.resolve(c));
      for (int i = 0; i < 4; i++) {
        ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY), "png", data.resolve(c).resolve(i + ".png").toFile());
      }
    }
    CliRun.of("train", "--config", small("train.json", ""), "--data", data.toString(), "--size", "8192",
        "--epochs", "1", "--batch", "4", "--out", tmp.resolve("run").toString())
        .badInput("--batch 4 at 8192x8192", "needs about", "more than this machine's");
  }

  // ---- silent acceptance

  @Test
  void misspeltConfigKeyIsRefusedWithTheNearestName() throws IOException {
    String cfg = small("typo.json", ", \"layer_norm_epsilon\": 1e-6");
    String line = CliRun.of("summary", "--config", cfg).badInput();
    assertTrue(line.equals("rest-tf: " + cfg + ": unknown config key \"layer_norm_epsilon\" (did you mean layer_norm_eps?)"), line);
  }

  @Test
  void unknownConfigKeyIsRefused() throws IOException {
    String cfg = small("unknown.json", ", \"colour\": \"red\"");
    CliRun.of("summary", "--config", cfg).badInput(cfg, "unknown config key \"colour\"", "valid keys");
  }

  @Test
  void nonIntegerEmbedDimsAreRefused() throws IOException {
    String cfg = config("fraction.json", "[32.5, 32, 64, 128]", "[1, 1, 1, 1]", "");
    CliRun.of("summary", "--config", cfg).badInput(cfg, "embed_dims[0] must be an integer, got 32.5");
  }

  @Test
  void negativeZeroAndAbsurdNumbersAreRefused() throws IOException {
    CliRun.of("summary", "--config", config("neg.json", "[-16, 32, 64, 128]", "[1, 1, 1, 1]", "")).badInput("embed_dims", "between 1");
    CliRun.of("summary", "--config", config("zero.json", "[16, 32, 64, 128]", "[0, 1, 1, 1]", "")).badInput("depths", "between 1");
    CliRun.of("summary", "--config", small("eps.json", ", \"layer_norm_eps\": -1")).badInput("layer_norm_eps");
    String absurd = tmp.resolve("classes.json").toString();
    Files.writeString(Path.of(absurd), "{\"family\": \"v1\", \"embed_dims\": [16, 32, 64, 128], \"depths\": [1, 1, 1, 1],"
        + " \"num_heads\": [1, 2, 4, 8], \"sr_ratios\": [8, 4, 2, 1], \"mlp_ratios\": [4, 4, 4, 4], \"num_classes\": 2000000000,"
        + " \"in_chans\": 3}");
    CliRun.of("summary", "--config", absurd).badInput("num_classes", "between 0 and 1000000");
  }

  @Test
  void fixtureMetadataKeysAreAccepted() {
    for (String c : Fixtures.parityCases()) {
      CliRun.of("summary", "--config", Fixtures.parity(c).resolve("config.json").toString()).ok();
    }
    CliRun.of("summary", "--config", Fixtures.root().resolve("fashion-restv2-micro/config.json").toString()).ok();
  }
}
