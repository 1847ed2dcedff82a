package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.training.data.FashionMnist;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** data synth-scenes and a short train --task segmentation run from the demo backbone; bad datasets refused. */
class SegmentationTrainTest {
  @Test
  void synthScenesThenAShortSegmentationRun(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist");
    Path data = tmp.resolve("scenes");
    CliRun.of("data", "synth-scenes", "--out", data.toString(), "--train", "32", "--val", "8", "--size", "64").ok();
    assertEquals(32, Files.list(data.resolve("images/train")).count());
    assertEquals(8, Files.list(data.resolve("annotations/val")).count());
    assertEquals(11, Files.readAllLines(data.resolve("classes.txt")).size());
    BufferedImage ann = ImageIO.read(data.resolve("annotations/train/00000.png").toFile());
    assertEquals(64, ann.getWidth());
    boolean object = false;
    for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) {
      int v = ann.getRaster().getSample(x, y, 0);
      assertTrue(v <= 10 || v == 255, "label " + v);
      if (v >= 1 && v <= 10) object = true;
    }
    assertTrue(object, "a scene holds articles");
    CliRun.of("data", "synth-scenes", "--out", data.toString()).badInput("exists");

    Path run = tmp.resolve("run");
    CliRun r = CliRun.of("train", "--task", "segmentation", "--data", data.toString(), "--init", "demo", "--epochs", "1",
        "--batch", "8", "--head-channels", "16", "--out", run.toString()).ok();
    assertTrue(r.out().contains("final: val mIoU "), r.out());
    assertTrue(r.out().contains("  Trouser"), r.out());
    for (String f : List.of("metrics.jsonl", "curves.png", "result.json", "savedmodel/model/1/saved_model.pb")) {
      assertTrue(Files.exists(run.resolve(f)), f);
    }
    JsonNode res = new ObjectMapper().readTree(run.resolve("result.json").toFile());
    double miou = res.get("final_miou").asDouble();
    assertTrue(miou > 0 && miou <= 1, "mIoU " + miou);
    // the exported model segments an image of the dataset
    CliRun s = CliRun.of("segment", "--model", run.resolve("savedmodel/model").toString(), "--out", tmp.resolve("seg").toString(),
        data.resolve("images/val/00000.png").toString()).ok();
    assertTrue(s.out().contains("00000.png (64x64): "), s.out());
    // eval through the export agrees with the run's own last evaluation (same weights, same val split)
    CliRun e = CliRun.of("eval", "--model", run.resolve("savedmodel/model").toString(), "--data", data.toString()).ok();
    assertTrue(e.out().contains(String.format(java.util.Locale.ROOT, "mIoU %.2f %%", 100 * miou)), e.out() + " vs " + miou);
  }

  @Test
  void badDatasetsAndOptionsAreOneLine(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist");
    Path data = tmp.resolve("scenes");
    CliRun.of("data", "synth-scenes", "--out", data.toString(), "--train", "8", "--val", "4", "--size", "64").ok();
    String[] base = {"train", "--task", "segmentation", "--data", data.toString(), "--init", "demo", "--epochs", "1", "--batch", "4",
        "--out", tmp.resolve("run").toString()};
    CliRun.of(concat(base, "--ema")).badInput("--task segmentation does not use --ema");
    // an empty annotation folder
    try (var files = Files.list(data.resolve("annotations/val"))) {
      for (Path f : files.toList()) Files.delete(f);
    }
    CliRun.of(base).badInput("annotations", "empty");
    assertFalse(Files.exists(tmp.resolve("run")));
    // a label beyond the class count
    Path d2 = tmp.resolve("scenes2");
    CliRun.of("data", "synth-scenes", "--out", d2.toString(), "--train", "8", "--val", "4", "--size", "64").ok();
    Files.writeString(d2.resolve("classes.txt"), "background\nshirt\n");
    String[] b2 = base.clone();
    b2[4] = d2.toString();
    CliRun.of(b2).badInput("but the model has 2 classes");
    CliRun.of("data", "synth-scenes", "--out", tmp.resolve("s3").toString(), "--size", "100").badInput("multiple of 64");
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
