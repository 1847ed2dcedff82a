package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.testing.Fixtures;
import io.resttf.training.data.FashionMnist;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL mid-epoch: {@code rest-tf train --checkpoint-every 5} in a child JVM is killed (no handler
 * runs) once a step checkpoint was written in its first epoch; {@code --resume} continues from that step,
 * not from the epoch start, and the run ends bit-identical (every step's loss, every variable of the final
 * checkpoint) to an uninterrupted run without step checkpoints.
 */
class TrainKillTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static List<String> trainArgs(Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("train", "--config", Fixtures.root().resolve("fashion-restv2-micro/config.json").toString(),
        "--data", "fashion-mnist", "--limit", "320", "--epochs", "2", "--batch", "16", "--out", out.toString()));
    a.addAll(List.of(extra));
    return a;
  }

  @Test
  void sigkillLateInAnEpochLosesAtMostTheStepsSinceTheLastStepCheckpoint(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist");
    Path run = tmp.resolve("run");
    Path log = tmp.resolve("child.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx2g", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(trainArgs(run, "--checkpoint-every", "5", "--keep-checkpoints", "2"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process p = pb.start();
    Path steps = run.resolve("step-checkpoints");
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
      while (!Files.isDirectory(steps.resolve("step-00000010"))) {
        if (!p.isAlive()) throw new AssertionError("training ended early:\n" + Files.readString(log));
        if (System.nanoTime() > deadline) throw new AssertionError("no step checkpoint:\n" + Files.readString(log));
        Thread.sleep(20);
      }
    } finally {
      p.destroyForcibly(); // SIGKILL
    }
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(137, p.exitValue(), "killed by SIGKILL");
    assertEquals(0, JSON.readTree(run.resolve("checkpoint/state.json").toFile()).get("step").asInt(), "no epoch checkpoint since the start");
    long k = newestStepCheckpoint(steps);
    assertTrue(k >= 10 && k < 20, "a step checkpoint within the first epoch (20 steps): " + k);

    CliRun r = CliRun.of("train", "--resume", run.toString()).ok();
    assertTrue(r.out().contains("resuming at step " + k), r.out());

    Path straight = tmp.resolve("straight");
    CliRun.of(trainArgs(straight).toArray(new String[0])).ok();
    assertFalse(Files.exists(straight.resolve("step-checkpoints")));
    assertEquals(stepLosses(straight), stepLosses(run), "every step once, with the uninterrupted run's loss");
    assertEquals(40, stepLosses(run).size());
    // the final checkpoint (weights, AdamW slots): the same bytes
    for (String f : List.of("state.index", "state.data-00000-of-00001")) {
      assertArrayEquals(Files.readAllBytes(straight.resolve("checkpoint").resolve(f)), Files.readAllBytes(run.resolve("checkpoint").resolve(f)), f);
    }
  }

  private static long newestStepCheckpoint(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("step-[0-9]+"))
          .mapToLong(n -> Long.parseLong(n.substring(5))).max().orElse(-1);
    }
  }

  static List<Double> stepLosses(Path run) throws Exception {
    List<Double> out = new ArrayList<>();
    for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
      JsonNode n = JSON.readTree(l);
      if (n.path("kind").asText().equals("step")) out.add(n.get("loss").asDouble());
    }
    return out;
  }
}
