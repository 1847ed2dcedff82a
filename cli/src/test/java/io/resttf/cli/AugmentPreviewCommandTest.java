package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** augment-preview: the grid for Fashion-MNIST and for an RGB folder; options that change no image are refused. */
class AugmentPreviewCommandTest {
  @Test
  void drawsTheFirstStepOfFashionMnistUnderThePaperRecipe(@TempDir Path tmp) throws Exception {
    Path png = tmp.resolve("grid.png");
    String said = CliRun.of("augment-preview", "--recipe", "paper", "--data", "fashion-mnist", "--limit", "64", "--out", png.toString())
        .ok().out();
    assertTrue(said.contains("recipe paper · augment rrc-flip (scale ≥ 0.08) · aa rand-m9-mstd0.5-inc1 · mixup 0.8, cutmix 1.0"), said);
    assertTrue(said.contains("16 images of Fashion-MNIST"), said);
    BufferedImage grid = ImageIO.read(png.toFile());
    // 4 × 4 cells of 64² scaled ×2
    assertEquals(4 * (128 + 6) + 6, grid.getWidth());
  }

  @Test
  void drawsAnRgbFolderAtTheGivenSize(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("flowers");
    for (String cls : new String[] {"daisy", "rose"}) {
      Files.createDirectories(data.resolve(cls));
      for (int i = 0; i < 3; i++) {
        BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, cls.equals("rose") ? 0xc02020 + x : 0x20c020 + y);
        ImageIO.write(img, "png", data.resolve(cls).resolve(i + ".png").toFile());
      }
    }
    Path png = tmp.resolve("grid.png");
    String said = CliRun.of("augment-preview", "--data", data.toString(), "--size", "32", "--batch", "4", "--aa", "rand-m9-mstd0.5-inc1",
        "--reprob", "0.5", "--out", png.toString()).ok().out();
    assertTrue(said.startsWith("recipe finetune"), said);
    BufferedImage grid = ImageIO.read(png.toFile());
    assertEquals(2 * (128 + 6) + 6, grid.getWidth(), "2 × 2 cells of 32² scaled ×4");
  }

  @Test
  void badOptionsAreOneLineAndWriteNothing(@TempDir Path tmp) throws Exception {
    Path png = tmp.resolve("grid.png");
    String[] base = {"augment-preview", "--data", "fashion-mnist", "--limit", "32"};
    CliRun.of(concat(base, "--lr", "0.1", "--epochs", "3", "--out", png.toString())).badInput("--epochs, --lr: changes no image");
    CliRun.of(concat(base, "--out", tmp.resolve("grid.txt").toString())).badInput("must name a .png file");
    CliRun.of(concat(base, "--out", tmp.resolve("no/grid.png").toString())).badInput("no such directory");
    CliRun.of(concat(base, "--recipe", "papr", "--out", png.toString())).badInput("--recipe papr: no preset");
    CliRun.of(concat(base, "--batch", "0", "--out", png.toString())).badInput("--batch must be in [1, 256], got 0");
    CliRun.of(concat(base, "--batch", "64", "--out", png.toString())).badInput("fewer than the 64 asked for");
    CliRun.of(concat(base, "--mixup-prob", "1.5", "--out", png.toString())).badInput("--mixup-prob must be in");
    Path recipe = tmp.resolve("r.json");
    Files.writeString(recipe, "{\"base\": \"paper\", \"mixupp\": 0.5}");
    CliRun.of(concat(base, "--recipe", recipe.toString(), "--out", png.toString())).badInput("mixupp");
    CliRun.of("augment-preview", "--data", tmp.resolve("none").toString(), "--out", png.toString()).badInput("no such directory");
    try (var s = Files.list(tmp)) {
      assertEquals(1, s.count(), "only the recipe file");
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
