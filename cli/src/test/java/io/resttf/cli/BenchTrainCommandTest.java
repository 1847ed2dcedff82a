package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchTrainCommandTest {
  @Test
  void timesTrainingSteps(@TempDir Path tmp) throws IOException {
    Path config = tmp.resolve("tiny.json");
    Files.writeString(config, BenchCommandTest.TINY);
    CliRun r = CliRun.of("bench-train", "--config", config.toString(), "--batch", "4", "--size", "32", "--steps", "2",
        "--warmup", "1").ok();
    assertTrue(r.out().contains("step:        batch 4, 32x32, drop path 0.05, label smoothing 0.1, clip 1.0, AdamW, precision fp32"), r.out());
    assertTrue(r.out().matches("(?s).*time/step: +median \\d+\\.\\d{3} s, p90 \\d+\\.\\d{3} s.*"), r.out());
    assertTrue(r.out().matches("(?s).*last loss \\d+\\.\\d{4}\\).*"), "a finite loss: " + r.out());
  }

  /** --profile traces whole steps: the backward pass and the optimizer are in it, not only the forward. */
  @Test
  void profileTracesWholeSteps(@TempDir Path tmp) throws IOException {
    CliRun r = tinyStep(tmp, "--warmup", "0", "--profile", "2");
    assertTrue(r.out().contains("profile:     2 traced runs"), r.out());
    assertTrue(r.out().contains("BiasAddGrad"), "gradient ops traced: " + r.out());
    assertTrue(r.out().matches("(?s).*slowest nodes \\(ms per run, of which alone\\):.*"), r.out());
  }

  /** --precision bf16: the step under oneDNN's bfloat16 rewriter trains (finite loss) and says so. */
  @Test
  void bf16Step(@TempDir Path tmp) throws IOException {
    CliRun r = tinyStep(tmp, "--warmup", "1", "--precision", "bf16");
    assertTrue(r.out().contains("AdamW, precision bf16"), r.out());
    assertTrue(r.out().matches("(?s).*last loss \\d+\\.\\d{4}\\).*"), "a finite loss: " + r.out());
  }

  @Test
  void refusesBadFlags(@TempDir Path tmp) throws IOException {
    Path config = tmp.resolve("tiny.json");
    Files.writeString(config, BenchCommandTest.TINY);
    CliRun.of("bench-train", "--config", config.toString(), "--steps", "0").badInput("--steps", "0");
    CliRun.of("bench-train", "--config", config.toString(), "--drop-path", "1.5").badInput("--drop-path", "1.5");
    CliRun.of("bench-train", "--config", config.toString(), "--profile", "-1").badInput("--profile", "-1");
    CliRun.of("bench-train", "--config", config.toString(), "--precision", "fp8").badInput("--precision", "fp8");
    Files.writeString(config, BenchCommandTest.TINY.replace("\"num_classes\": 10", "\"num_classes\": 0"));
    CliRun.of("bench-train", "--config", config.toString()).badInput("num_classes");
  }

  /** One bench-train step of the tiny config, batch 2 at 32², with {@code extra} options; must succeed. */
  private static CliRun tinyStep(Path tmp, String... extra) throws IOException {
    Path config = tmp.resolve("tiny.json");
    Files.writeString(config, BenchCommandTest.TINY);
    java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("bench-train", "--config", config.toString(),
        "--batch", "2", "--size", "32", "--steps", "1"));
    args.addAll(java.util.List.of(extra));
    return CliRun.of(args.toArray(new String[0])).ok();
  }
}
