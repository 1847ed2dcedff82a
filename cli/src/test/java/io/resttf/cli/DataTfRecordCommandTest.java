package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code data to-tfrecord} and {@code data inspect}: written whole, read back with every record checked. */
class DataTfRecordCommandTest {
  @Test
  void folderToShardsAndBack(@TempDir Path tmp) throws IOException {
    Path folder = tmp.resolve("images");
    for (String cls : new String[] {"a", "b", "c"}) {
      Files.createDirectories(folder.resolve(cls));
      for (int i = 0; i < 3; i++) {
        ImageIO.write(new BufferedImage(8, 8 + i, BufferedImage.TYPE_INT_RGB), "png", folder.resolve(cls).resolve(i + ".png").toFile());
      }
    }
    Path out = tmp.resolve("rec");
    CliRun r = CliRun.of("data", "to-tfrecord", folder.toString(), "--out", out.toString(), "--shards", "2").ok();
    assertTrue(r.out().contains("{train=9} images in 2 shard(s)"), r.out());
    Path shard = out.resolve("train-00001-of-00002.tfrecord");
    CliRun i = CliRun.of("data", "inspect", shard.toString()).ok();
    assertTrue(i.out().contains("records:  4"), i.out());
    assertTrue(i.out().contains("image/encoded          bytes x1"), i.out());
    assertTrue(i.out().contains("image/class/label      int64 x1"), i.out());
    assertTrue(i.out().contains("formats:  {png=4}"), i.out());

    byte[] bytes = Files.readAllBytes(shard);
    bytes[bytes.length - 10] ^= 1;
    Path bad = tmp.resolve("bad.tfrecord");
    Files.write(bad, bytes);
    CliRun.of("data", "inspect", bad.toString()).badInput("bad.tfrecord", "record 3", "CRC mismatch");
    CliRun.of("data", "inspect", out.toString()).badInput("directory");
    CliRun.of("data", "inspect", tmp.resolve("none.tfrecord").toString()).badInput("no such file");
    CliRun.of("data", "to-tfrecord", folder.toString(), "--out", out.toString()).badInput("already exists", "--force");
    CliRun.of("data", "to-tfrecord", folder.toString(), "--out", tmp.resolve("x").toString(), "--shards", "0").badInput("--shards");
    CliRun.of("data", "to-tfrecord", tmp.resolve("nope").toString(), "--out", tmp.resolve("y").toString()).badInput("no such directory");
    assertFalse(Files.exists(tmp.resolve("x")) || Files.exists(tmp.resolve("y")), "nothing written on errors");

    // the shards as training data (one epoch of the 9 images)
    Path run = tmp.resolve("run");
    CliRun t = CliRun.of("train", "--config", TrainCommandTest.micro(), "--data", "tfrecord:" + out, "--size", "32",
        "--epochs", "1", "--batch", "3", "--out", run.toString()).ok();
    String runJson = Files.readString(run.resolve("run.json"));
    assertTrue(runJson.contains("\"tfrecord\""), runJson);
    CliRun.of("train", "--config", TrainCommandTest.micro(), "--data", "tfrecord:" + tmp.resolve("none-*.tfrecord"), "--size", "32",
        "--epochs", "1", "--batch", "3", "--out", tmp.resolve("run2").toString()).badInput("matches no file");
  }
}
