package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.testing.Fixtures;
import io.resttf.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code --max-pixels} of export and classify; the 20000×20000 PNG is refused per image, fast. */
class MaxPixelsCommandTest {
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void bigPngIsRefusedByClassifyAndTheLimitIsAFlag(@TempDir Path tmp) throws Exception {
    Path dir = Fixtures.parity("restv2_tiny-narrow");
    Path base = tmp.resolve("models");
    CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny",
        "--base", base.toString(), "--image-size", "64").ok();
    Path good = tmp.resolve("good.png");
    Files.write(good, DemoCommand.png(new byte[28 * 28]));
    Path big = tmp.resolve("big.png");
    Files.write(big, TestImages.bigPng(20000, 20000));

    CliRun c = CliRun.of("classify", "--model", base.resolve("tiny").toString(), good.toString(), big.toString());
    assertEquals(2, c.code(), c.err());
    assertTrue(c.out().contains("good.png:"), c.out());
    c.oneLine(big + ": 20000×20000 = 400 MP exceeds the limit of 40 MP (--max-pixels)");

    CliRun.of("classify", "--model", base.resolve("tiny").toString(), "--max-pixels", "100", good.toString())
        .badInput(good + ": 28×28 = 784 pixels exceeds the limit of 100 pixels (--max-pixels)");
    CliRun.of("classify", "--model", base.resolve("tiny").toString(), "--max-pixels", "0", good.toString())
        .badInput("--max-pixels", "at least 1");

    // export --max-pixels: recorded in the metadata and enforced by the graph
    CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny",
        "--base", base.toString(), "--image-size", "64", "--max-pixels", "500").ok();
    var meta = new ObjectMapper().readTree(base.resolve("tiny/2/assets/rest_tf.json").toFile());
    assertEquals(500, meta.path("max_pixels").asLong());
    CliRun.of("classify", "--model", base.resolve("tiny/2").toString(), good.toString())
        .badInput(good + ": 28×28 = 784 pixels exceeds the limit of 500 pixels (--max-pixels)");
    CliRun.of("export", "--checkpoint", dir.resolve("weights.pth").toString(), "--name", "tiny",
        "--base", base.toString(), "--max-pixels", "-5").badInput("--max-pixels", "at least 1");
  }
}
