package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The design-space verbs: summary's options and ablation rows, bench --compare-styles, analyze fourier / cka. */
class DesignSpaceCommandsTest {
  static final Path NARROW = Fixtures.parity("restv2_tiny-narrow");
  static final String TINY = BenchCommandTest.TINY;

  @Test
  void summaryShowsOptionsAndMacsByKind() {
    CliRun r = CliRun.of("summary", "--variant", "restv2_tiny-nearest", "--input", "800x1216").ok();
    assertTrue(r.out().contains("options:     upsample nearest"), r.out());
    Matcher m = Pattern.compile("MACs at 800x1216: ([\\d.]+) G \\(attention products ([\\d.]+) G, linear ([\\d.]+) G,"
        + " convolutions ([\\d.]+) G, other ([\\d.]+) G\\)").matcher(r.out());
    assertTrue(m.find(), r.out());
    double sum = 0;
    for (int g = 2; g <= 5; g++) sum += Double.parseDouble(m.group(g));
    assertEquals(Double.parseDouble(m.group(1)), sum, 0.03, "the kinds add up to the total");
    List<String> lines = r.out().strip().lines().toList();
    assertTrue(lines.get(lines.size() - 1).startsWith("parameters: "), "the last line stays the count");
    assertTrue(CliRun.of("summary", "--variant", "restv2_tiny").ok().out().contains("options:     official"));
  }

  /** Window attention cuts the attention products at a detection size, as the paper says; padding adds linear work. */
  @Test
  void windowStylesCutAttentionMacs() {
    double[] global = macs(CliRun.of("summary", "--variant", "restv2_tiny", "--input", "800x1216").ok().out());
    double[] win = macs(CliRun.of("summary", "--variant", "restv2_tiny-win", "--input", "800x1216").ok().out());
    double[] hwin = macs(CliRun.of("summary", "--variant", "restv2_tiny-hwin", "--input", "800x1216").ok().out());
    assertTrue(win[1] < global[1] / 5, "win attention " + win[1] + " vs global " + global[1]);
    assertTrue(win[1] < hwin[1] && hwin[1] < global[1], "hwin lies between");
    assertTrue(win[2] > global[2], "padding 200 rows to 256 adds linear work");
  }

  static double[] macs(String out) {
    Matcher m = Pattern.compile("MACs at \\S+: ([\\d.]+) G \\(attention products ([\\d.]+) G, linear ([\\d.]+) G").matcher(out);
    assertTrue(m.find(), out);
    return new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3))};
  }

  @Test
  void ablationRowsArePrintedAndEachIsAVariant() {
    CliRun r = CliRun.of("summary", "--ablations").ok();
    for (String name : List.of("restv2_tiny-nearest", "restv2_tiny-bilinear", "restv2_tiny-convnet", "restv2_tiny-upsample-x",
        "restv2_tiny-cwin", "rest_lite-avg-reduction", "rest_lite-gl")) {
      assertTrue(r.out().contains(name + " "), name + "\n" + r.out());
      CliRun.of("summary", "--variant", name).ok();
    }
    // nearest / bilinear keep C channels in the up conv instead of sr²·C: fewer parameters, same MACs to 0.01 G
    Matcher pixel = Pattern.compile("(?m)^restv2_tiny\\s+([\\d.]+)").matcher(r.out());
    Matcher nearest = Pattern.compile("(?m)^restv2_tiny-nearest\\s+restv2_tiny\\s+([\\d.]+)").matcher(r.out());
    assertTrue(pixel.find() && nearest.find(), r.out());
    assertTrue(Double.parseDouble(nearest.group(1)) < Double.parseDouble(pixel.group(1)));
    CliRun.of("summary", "--ablations", "--variant", "rest_lite").badInput("--ablations", "leave out");
    CliRun.of("summary", "--variant", "restv2_tiny", "--input", "224x100").badInput("--input", "multiples of 32");
    CliRun.of("summary", "--variant", "restv2_tiny", "--input", "big").badInput("--input", "HxW");
    CliRun.of("summary").badInput("--variant", "--ablations");
  }

  @Test
  void compareStylesPrintsEveryStyle(@TempDir Path tmp) throws IOException {
    Path config = tmp.resolve("tiny.json");
    Files.writeString(config, TINY);
    CliRun r = CliRun.of("bench", "--config", config.toString(), "--compare-styles", "--input", "128x192",
        "--window-sizes", "16,8,4,2", "--iters", "1", "--warmup", "0", "--rounds", "2").ok();
    for (String style : List.of("global", "win", "cwin", "hwin")) {
      assertTrue(Pattern.compile("(?m)^" + style + "\\s+[\\d.]+\\s+[\\d.]+").matcher(r.out()).find(), style + "\n" + r.out());
    }
    assertTrue(r.out().contains("2 rounds x 1 timed runs, styles alternated"), r.out());
    CliRun.of("bench", "--variant", "rest_lite", "--compare-styles", "--input", "64x64").badInput("--compare-styles", "ResT (v1)");
    CliRun.of("bench", "--config", config.toString(), "--compare-styles", "--input", "64x64", "--window-sizes", "16,8,4")
        .badInput("--window-sizes", "4 entries");
    CliRun.of("bench", "--config", config.toString(), "--compare-styles", "--input", "64x64", "--window-sizes", "12,8,4,2")
        .badInput("window_sizes[0]=12", "multiple of sr_ratios[0]=8");
    CliRun.of("bench", "--config", config.toString(), "--input", "64x64").badInput("--input", "--compare-styles");
  }

  @Test
  void analyzeFourierAndCkaWriteNumbersAndPictures(@TempDir Path tmp) throws IOException {
    Path images = writeImages(tmp.resolve("images"), 5);
    String cfg = NARROW.resolve("config.json").toString(), w = NARROW.resolve("weights.pth").toString();
    Path out = tmp.resolve("fourier");
    CliRun r = CliRun.of("analyze", "fourier", "--config", cfg, "--weights", w, "--images", images.toString(),
        "--size", "64", "--batch", "2", "--out", out.toString()).ok();
    assertTrue(r.out().contains("images: 5 from"), r.out());
    JsonNode json = Fixtures.json(out.resolve("fourier.json"));
    assertEquals(5, json.get("images").asInt());
    for (String branch : List.of("attn", "up", "sum")) {
      assertEquals(11, json.get(branch).size(), branch + ": restv2_tiny's 1 + 2 + 6 + 2 blocks");
      assertEquals(8, json.get(branch).get("stage1.0").size(), "a 16x16 stage-1 map: 8 diagonal frequencies");
      assertEquals(0.0, json.get(branch).get("stage2.1").get(0).asDouble(), "relative to frequency 0");
    }
    assertEquals(1 + 3 * (8 + 2 * 4 + 6 * 2 + 2 * 1), Files.readAllLines(out.resolve("fourier.csv")).size());
    BufferedImage png = ImageIO.read(out.resolve("fourier.png").toFile());
    assertEquals(3 * AnalysisPlots.PANEL_WIDTH, png.getWidth(), "three panels");
    assertEquals(AnalysisPlots.HEIGHT, png.getHeight());

    Path cka = tmp.resolve("cka");
    CliRun.of("analyze", "cka", "--config", cfg, "--weights", w, "--images", images.toString(), "--size", "64",
        "--limit", "3", "--out", cka.toString()).ok();
    JsonNode c = Fixtures.json(cka.resolve("cka.json"));
    assertEquals(11, c.size());
    c.fields().forEachRemaining(e -> assertTrue(e.getValue().asDouble() >= 0 && e.getValue().asDouble() <= 1 + 1e-9, e.toString()));
    assertTrue(ImageIO.read(cka.resolve("cka.png").toFile()).getWidth() > 0);
  }

  @Test
  void analyzeRefusesBadInputWithoutWriting(@TempDir Path tmp) throws IOException {
    Path images = writeImages(tmp.resolve("images"), 1);
    String cfg = NARROW.resolve("config.json").toString(), w = NARROW.resolve("weights.pth").toString();
    Path out = tmp.resolve("out");
    CliRun.of("analyze", "fourier", "--config", cfg, "--weights", w, "--out", out.toString()).badInput("--images");
    CliRun.of("analyze", "fourier", "--config", cfg, "--images", images.toString(), "--out", out.toString()).badInput("--weights");
    CliRun.of("analyze", "fourier", "--config", cfg, "--weights", w, "--images", tmp.resolve("none").toString(),
        "--out", out.toString()).badInput("none", "not a directory");
    Files.writeString(images.resolve("broken.png"), "not a png");
    CliRun.of("analyze", "fourier", "--config", cfg, "--weights", w, "--images", images.toString(), "--size", "64",
        "--out", out.toString()).badInput("broken.png");
    assertFalse(Files.exists(out), "nothing half-written");
    Files.delete(images.resolve("broken.png"));
    Path lite = Fixtures.parity("rest_lite-narrow");
    CliRun.of("analyze", "cka", "--config", lite.resolve("config.json").toString(), "--weights",
        lite.resolve("weights.pth").toString(), "--images", images.toString(), "--size", "64", "--out", out.toString())
        .badInput("cka", "no block has both");
    assertFalse(Files.exists(out), "nothing half-written");
    Files.createDirectory(out);
    CliRun.of("analyze", "fourier", "--config", cfg, "--weights", w, "--images", images.toString(), "--size", "64",
        "--out", out.toString()).badInput("already exists", "--force");
    CliRun.of("analyze").badInput("subcommand");
  }

  /** The Fourier picture: one panel per branch, one line per block, the size it says. */
  @Test
  void fourierPlotHasAPanelPerBranchAndALinePerBlock(@TempDir Path tmp) throws IOException {
    java.util.Map<io.resttf.analysis.FourierAnalysis.Branch, java.util.Map<String, double[]>> r =
        new java.util.EnumMap<>(io.resttf.analysis.FourierAnalysis.Branch.class);
    for (var b : List.of(io.resttf.analysis.FourierAnalysis.Branch.ATTENTION, io.resttf.analysis.FourierAnalysis.Branch.SUM)) {
      java.util.Map<String, double[]> blocks = new java.util.LinkedHashMap<>();
      for (int i = 0; i < 7; i++) blocks.put("stage1." + i, new double[] {0, -1 - i, -2 - i, -2.5 - i});
      r.put(b, blocks);
    }
    AnalysisPlots.Drawn d = AnalysisPlots.fourier(tmp.resolve("f.png"), "t", r);
    assertEquals(List.of(7, 7), d.seriesPerPanel());
    BufferedImage png = ImageIO.read(tmp.resolve("f.png").toFile());
    assertEquals(d.width(), png.getWidth());
    assertEquals(d.height(), png.getHeight());
    assertEquals(2 * AnalysisPlots.PANEL_WIDTH, png.getWidth());
  }

  static Path writeImages(Path dir, int n) throws IOException {
    Files.createDirectories(dir);
    Random rng = new Random(7);
    for (int i = 0; i < n; i++) {
      BufferedImage img = new BufferedImage(70 + 4 * i, 64, BufferedImage.TYPE_INT_RGB);
      for (int y = 0; y < img.getHeight(); y++) {
        for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, rng.nextInt(1 << 24));
      }
      ImageIO.write(img, "png", dir.resolve(String.format("img%02d.png", i)).toFile());
    }
    return dir;
  }
}
