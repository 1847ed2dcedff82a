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
    assertTrue(r.out().contains("step:        batch 4, 32x32, drop path 0.05"), r.out());
    assertTrue(r.out().matches("(?s).*time/step: +median \\d+\\.\\d{3} s, p90 \\d+\\.\\d{3} s.*"), r.out());
    assertTrue(r.out().matches("(?s).*last loss \\d+\\.\\d{4}\\).*"), "a finite loss: " + r.out());
  }

  @Test
  void refusesBadFlags(@TempDir Path tmp) throws IOException {
    Path config = tmp.resolve("tiny.json");
    Files.writeString(config, BenchCommandTest.TINY);
    CliRun.of("bench-train", "--config", config.toString(), "--steps", "0").badInput("--steps", "0");
    CliRun.of("bench-train", "--config", config.toString(), "--drop-path", "1.5").badInput("--drop-path", "1.5");
    Files.writeString(config, BenchCommandTest.TINY.replace("\"num_classes\": 10", "\"num_classes\": 0"));
    CliRun.of("bench-train", "--config", config.toString()).badInput("num_classes");
  }
}
