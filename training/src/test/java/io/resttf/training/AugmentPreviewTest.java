package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.Preprocessing;
import io.resttf.tensor.BadInputException;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.Image;
import io.resttf.training.data.ImagePipeline;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** augment-preview shows the batch a run's first step is fed: its images, its order, its soft targets. */
class AugmentPreviewTest {
  private static final int SIDE = 16, IMAGES = 20, CLASSES = 4;

  /** Grey 16×16 images whose pixels name the image and the position; label = index mod 4. */
  static DataSpec.Data data() {
    Dataset train = new Dataset() {
      @Override
      public int size() {
        return IMAGES;
      }

      @Override
      public List<String> classes() {
        return List.of("ant", "bee", "cat", "dog");
      }

      @Override
      public int label(int i) {
        return i % CLASSES;
      }

      @Override
      public Image image(int i) {
        byte[] px = new byte[SIDE * SIDE];
        for (int p = 0; p < px.length; p++) px[p] = (byte) ((i * 11 + p * 7) % 256);
        return new Image(SIDE, SIDE, 1, px);
      }

      @Override
      public String describe(int i) {
        return "train[" + i + "]";
      }
    };
    ImagePipeline pipe = new ImagePipeline(Preprocessing.of(SIDE, 1.0, List.of(0.5), List.of(0.25)), 1);
    return new DataSpec.Data(train, null, pipe, "synthetic");
  }

  @Test
  void withoutAugmentationTheStepShowsTheImagesInTheRunsOrder() throws Exception {
    TrainOptions o = TrainOptions.recipe(TrainOptions.FINETUNE, 1, 8);
    o.augment = TrainOptions.NONE;
    o.labelSmoothing = 0.0;
    o.seed = 5L;
    o.validate();
    DataSpec.Data d = data();
    List<AugmentPreview.Sample> samples = AugmentPreview.firstStep(o, d);
    assertEquals(8, samples.size());
    int[] order = Seeds.permutation(IMAGES, Seeds.rng(5L, Seeds.Stream.ORDER, 0, 0));
    for (int i = 0; i < 8; i++) {
      int idx = order[i];
      AugmentPreview.Sample s = samples.get(i);
      assertEquals(idx % CLASSES, s.label());
      float[] oneHot = new float[CLASSES];
      oneHot[idx % CLASSES] = 1f;
      assertTrue(java.util.Arrays.equals(oneHot, s.target()), "sample " + i);
      Image img = d.train().image(idx);
      for (int y = 0; y < SIDE; y++) {
        for (int x = 0; x < SIDE; x++) {
          assertEquals(img.at(y, x, 0), s.image().getRaster().getSample(x, y, 0), "sample " + i + " at " + x + "," + y);
        }
      }
    }
  }

  @Test
  void thePaperRecipesStepIsMixedPairwiseWithOneLambda() {
    TrainOptions o = TrainOptions.recipe(TrainOptions.PAPER, 1, 8).validate();
    List<AugmentPreview.Sample> samples = AugmentPreview.firstStep(o, data());
    int n = samples.size();
    double eps = o.labelSmoothing;
    Double lambda = null;
    for (int i = 0; i < n; i++) {
      float[] t = samples.get(i).target();
      double sum = 0;
      for (float v : t) sum += v;
      assertEquals(1.0, sum, 1e-5, "sample " + i);
      int a = samples.get(i).label(), b = samples.get(n - 1 - i).label();
      if (a == b) continue;
      // timm: λ · smooth(label) + (1 − λ) · smooth(label of the flipped batch)
      double lam = (t[a] - eps / CLASSES) / (1 - eps);
      if (lambda == null) lambda = lam;
      assertEquals(lambda, lam, 1e-5, "one λ per batch (sample " + i + ")");
      assertEquals(1 - lam, (t[b] - eps / CLASSES) / (1 - eps), 1e-5);
    }
    assertNotNull(lambda, "the batch has pairs of different labels");
    assertTrue(lambda > 0 && lambda < 1, "mixed: λ " + lambda);
  }

  @Test
  void theGridDrawsEachSampleScaledWithoutSmoothing(@TempDir Path dir) throws Exception {
    TrainOptions o = TrainOptions.recipe(TrainOptions.PAPER, 1, 5).validate();
    List<AugmentPreview.Sample> samples = AugmentPreview.firstStep(o, data());
    BufferedImage grid = AugmentPreview.grid(samples, data().classes(), AugmentPreview.title(o));
    int scale = AugmentPreview.MIN_CELL / SIDE, cell = SIDE * scale, cols = 3;
    assertEquals(cols * (cell + AugmentPreview.PAD) + AugmentPreview.PAD, grid.getWidth());
    assertEquals(AugmentPreview.HEAD + 2 * (cell + AugmentPreview.CAPTION + AugmentPreview.PAD) + AugmentPreview.PAD, grid.getHeight());
    for (int i = 0; i < samples.size(); i++) {
      int x0 = AugmentPreview.PAD + (i % cols) * (cell + AugmentPreview.PAD);
      int y0 = AugmentPreview.HEAD + (i / cols) * (cell + AugmentPreview.CAPTION + AugmentPreview.PAD);
      BufferedImage img = samples.get(i).image();
      for (int y = 0; y < SIDE; y += 3) {
        for (int x = 0; x < SIDE; x += 3) {
          int grey = img.getRaster().getSample(x, y, 0);
          int rgb = grid.getRGB(x0 + x * scale + scale / 2, y0 + y * scale + scale / 2) & 0xffffff;
          assertEquals((grey << 16) | (grey << 8) | grey, rgb, "sample " + i + " at " + x + "," + y);
        }
      }
    }
    Path png = dir.resolve("grid.png");
    AugmentPreview.writePng(png, grid);
    BufferedImage back = ImageIO.read(png.toFile());
    assertEquals(grid.getWidth(), back.getWidth());
    try (var s = Files.list(dir)) {
      assertEquals(1, s.count(), "no temporary file left");
    }
  }

  @Test
  void theLargestClassesSkipTheSmoothingFloor() {
    assertEquals(List.of(2, 0), AugmentPreview.largest(new float[] {0.3f, 0.025f, 0.65f, 0.025f}, 2));
    assertEquals(List.of(1), AugmentPreview.largest(new float[] {0.025f, 0.925f, 0.025f, 0.025f}, 2));
    assertEquals(List.of(0), AugmentPreview.largest(new float[] {0.5f, 0.5f}, 2));
  }

  @Test
  void fewerImagesThanTheBatchIsOneLine() {
    TrainOptions o = TrainOptions.recipe(TrainOptions.PAPER, 1, 32).validate();
    BadInputException e = assertThrows(BadInputException.class, () -> AugmentPreview.firstStep(o, data()));
    assertEquals("the data has 20 training images, fewer than the 32 asked for", e.getMessage());
  }
}
