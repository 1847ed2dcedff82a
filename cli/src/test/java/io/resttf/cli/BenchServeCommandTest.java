package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.testing.Fixtures;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bench-serve on a tiny export with 1-second phases: the report lines and the exit codes (no speed asserts). */
class BenchServeCommandTest {
  static final String NUMBER = "[0-9]+(\\.[0-9]+)?";
  static final String LATENCY = "latency p50 " + NUMBER + " ms, p90 " + NUMBER + " ms, p99 " + NUMBER + " ms, max " + NUMBER + " ms";

  @TempDir static Path tmp;
  static Path model, a, b;

  @BeforeAll
  static void export() throws IOException {
    Path base = tmp.resolve("models");
    CliRun.of("export", "--checkpoint", Fixtures.parity("restv2_tiny-narrow").resolve("weights.pth").toString(),
        "--name", "tiny", "--base", base.toString(), "--image-size", "64").ok();
    model = base.resolve("tiny");
    a = image("a.png", 50, 40, Color.ORANGE);
    b = image("b.png", 33, 71, Color.BLUE);
  }

  static Path image(String name, int w, int h, Color c) throws IOException {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setColor(c);
      g.fillRect(0, 0, w, h);
      g.setColor(Color.WHITE);
      g.fillOval(w / 4, h / 4, w / 2, h / 2);
    } finally {
      g.dispose();
    }
    Path p = tmp.resolve(name);
    ImageIO.write(img, "png", p.toFile());
    return p;
  }

  static void assertLine(String out, String regex) {
    assertTrue(Pattern.compile("^" + regex + "$", Pattern.MULTILINE).matcher(out).find(),
        () -> "no line matching " + regex + " in:\n" + out);
  }

  @Test
  void reportsBothPhasesAndTheBatchReference() {
    String out = CliRun.of("bench-serve", "--model", model.toString(), "--clients", "4", "--seconds", "1",
        "--max-batch", "4", "--max-wait-ms", "2", a.toString(), b.toString()).ok().out();
    assertLine(out, "model: .*tiny; 4 clients, 1 s per phase, 2 images round-robin, default threads");
    assertLine(out, "batching off: [0-9]+ requests in " + NUMBER + " s, " + NUMBER + " images/s; " + LATENCY);
    assertLine(out, "batching on \\(max batch 4, max wait 2 ms, 1 batch thread\\): [0-9]+ requests in " + NUMBER + " s, " + NUMBER
        + " images/s; " + LATENCY + "; [0-9]+ session runs, mean batch " + NUMBER + ", at most 1 at once");
    assertLine(out, "batch-4 throughput \\(1 thread, batches of 4\\): [0-9]+ runs in " + NUMBER + " s, " + NUMBER
        + " images/s; " + LATENCY + " per batch");
    assertLine(out, "batching on / batch-4 throughput: " + NUMBER + "; batching on / off: " + NUMBER);
  }

  /** Two batch threads, and the reference at another batch size than the merged batches. */
  @Test
  void batchThreadsAndAReferenceBatch() {
    String out = CliRun.of("bench-serve", "--model", model.toString(), "--clients", "4", "--seconds", "1",
        "--max-batch", "2", "--batch-threads", "2", "--reference-batch", "8", a.toString(), b.toString()).ok().out();
    assertLine(out, "batching on \\(max batch 2, max wait 5 ms, 2 batch threads\\): [0-9]+ requests in " + NUMBER + " s, "
        + NUMBER + " images/s; " + LATENCY + "; [0-9]+ session runs, mean batch " + NUMBER + ", at most [12] at once");
    assertLine(out, "batch-8 throughput \\(1 thread, batches of 8\\): [0-9]+ runs in " + NUMBER + " s, " + NUMBER
        + " images/s; " + LATENCY + " per batch");
    assertLine(out, "batching on / batch-8 throughput: " + NUMBER + "; batching on / off: " + NUMBER);
  }

  @Test
  void badUsageIsOneLineAndExitCode2() throws IOException {
    String m = model.toString(), img = a.toString();
    CliRun.of("bench-serve", "--model", m, "--clients", "0", img).badInput("--clients");
    CliRun.of("bench-serve", "--model", m, "--seconds", "0", img).badInput("--seconds");
    CliRun.of("bench-serve", "--model", m, "--max-batch", "1", img).badInput("--max-batch");
    CliRun.of("bench-serve", "--model", m, "--max-wait-ms", "-1", img).badInput("--max-wait-ms");
    CliRun.of("bench-serve", "--model", m, "--batch-threads", "0", img).badInput("--batch-threads", "between 1 and 64", "0");
    CliRun.of("bench-serve", "--model", m, "--batch-threads", "65", img).badInput("--batch-threads", "65");
    CliRun.of("bench-serve", "--model", m, "--reference-batch", "0", img).badInput("--reference-batch", "between 1 and 1024");
    CliRun.of("bench-serve", "--model", m, "--threads", "0", img).badInput("--threads", "between 1 and 1024");
    CliRun.of("bench-serve", "--model", m, "--clients", "two", img).badInput("--clients");
    // found by ci/fuzz-cli: a million client threads, or a warm-up over a million batch sizes, never ended
    CliRun.of("bench-serve", "--model", m, "--clients", "1000000", img).badInput("--clients", "between 1 and 1024", "1000000");
    CliRun.of("bench-serve", "--model", m, "--max-batch", "1000000", img).badInput("--max-batch", "between 2 and 1024");
    CliRun.of("bench-serve", "--model", m).badInput("IMAGE");
    CliRun.of("bench-serve", img).badInput("--model");
    CliRun.of("bench-serve", "--model", m, tmp.resolve("missing.png").toString()).badInput("missing.png", "no such file");
    CliRun.of("bench-serve", "--model", tmp.resolve("nomodel").toString(), img).badInput("nomodel");
    Path bad = tmp.resolve("bad.jpg");
    Files.write(bad, new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 1, 2, 3});
    CliRun.of("bench-serve", "--model", m, "--seconds", "1", img, bad.toString()).badInput("bad.jpg");
  }

  @Test
  void help() {
    CliRun h = CliRun.of("bench-serve", "--help").ok();
    for (String flag : new String[] {"--model", "--clients", "--seconds", "--max-batch", "--max-wait-ms", "--batch-threads",
        "--reference-batch", "--threads", "IMAGE"}) {
      assertTrue(h.out().contains(flag), h.out());
    }
    CliRun top = CliRun.of("--help");
    assertEquals(0, top.code());
    assertTrue(top.out().contains("bench-serve"), top.out());
  }
}
