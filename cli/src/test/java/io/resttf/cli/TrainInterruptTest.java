package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.training.data.FashionMnist;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C for real: {@code rest-tf train} in a child JVM gets SIGINT after a few steps, writes its
 * checkpoint, exits 130 with the resume command; {@code --resume} then finishes the run, whose metrics
 * hold every step exactly once.
 */
class TrainInterruptTest {
  @Test
  void ctrlCWritesACheckpointAndResumeFinishes(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist");
    // A JVM started with SIGINT ignored (a background job of a non-interactive shell, and everything it
    // starts) leaves it ignored, and so does the child: Ctrl-C cannot reach it there.
    Assumptions.assumeFalse(sigintIgnored(), "SIGINT is ignored in this process tree (started as a background job)");
    Path run = tmp.resolve("run");
    Path log = tmp.resolve("child.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx2g", "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "train", "--config", Fixtures.root().resolve("fashion-restv2-micro/config.json").toString(),
        "--data", "fashion-mnist", "--limit", "320", "--epochs", "2", "--batch", "16", "--out", run.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process p = pb.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (stepLines(run) < 3) {
        if (!p.isAlive()) throw new AssertionError("training ended early:\n" + Files.readString(log));
        if (System.nanoTime() > deadline) throw new AssertionError("no progress:\n" + Files.readString(log));
        Thread.sleep(50);
      }
      new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "stops after the current step");
    } finally {
      p.destroyForcibly();
    }
    String output = Files.readString(log);
    assertEquals(130, p.exitValue(), output);
    assertTrue(output.contains("continue with: bin/rest-tf train --resume " + run), output);
    JsonNode state = new ObjectMapper().readTree(run.resolve("checkpoint/state.json").toFile());
    long k = state.get("step").asLong();
    assertTrue(k >= 3 && k < 40, "stopped mid-run at step " + k);
    assertEquals(k, stepLines(run), "metrics hold the steps the checkpoint has seen");

    CliRun r = CliRun.of("train", "--resume", run.toString()).ok();
    assertTrue(r.out().contains("resuming at step " + k), r.out());
    List<Long> steps = new ArrayList<>();
    for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
      JsonNode n = new ObjectMapper().readTree(l);
      if (n.path("kind").asText().equals("step")) steps.add(n.get("step").asLong());
    }
    List<Long> expected = new ArrayList<>();
    for (long s = 1; s <= 40; s++) expected.add(s);
    assertEquals(expected, steps, "every step once");
    assertTrue(Files.isRegularFile(run.resolve("savedmodel/run/1/saved_model.pb")));
  }

  /** Whether this process ignores SIGINT (bit 1 of SigIgn in /proc/self/status), as its children then do. */
  static boolean sigintIgnored() throws java.io.IOException {
    Path status = Path.of("/proc/self/status");
    if (!Files.isReadable(status)) return false;
    for (String l : Files.readAllLines(status)) {
      if (l.startsWith("SigIgn:")) return (Long.parseUnsignedLong(l.substring(7).trim(), 16) & 2L) != 0;
    }
    return false;
  }

  private static long stepLines(Path run) throws Exception {
    Path m = run.resolve("metrics.jsonl");
    if (!Files.isRegularFile(m)) return 0;
    return Files.readAllLines(m).stream().filter(l -> l.contains("\"kind\" : \"step\"") || l.contains("\"kind\":\"step\"")).count();
  }
}
