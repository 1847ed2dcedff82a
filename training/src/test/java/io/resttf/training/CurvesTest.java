package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** curves.png is a PNG of the three charts, replaced atomically (no temporary file left), also before any evaluation. */
class CurvesTest {
  @Test
  void writesThreeChartsAsOnePng(@TempDir Path tmp) throws Exception {
    List<double[]> loss = new ArrayList<>(), lr = new ArrayList<>();
    for (int s = 1; s <= 50; s++) {
      loss.add(new double[] {s, 2.3 / Math.sqrt(s)});
      lr.add(new double[] {s, 1e-3 * s / 50});
    }
    loss.add(new double[] {51, Double.NaN}); // a diverged step is left out, not drawn
    Path png = tmp.resolve("curves.png");
    for (int round = 0; round < 2; round++) {
      List<double[]> val = round == 0 ? List.of() : List.<double[]>of(new double[] {50, 0.7});
      Curves.write(png, "run — V2 [96, 192, 384, 768], batch 16",
          List.of(new Curves.Series("train loss", Color.BLUE, loss, false)),
          List.of(new Curves.Series("val top-1", Color.RED, val, true)),
          List.of(new Curves.Series("learning rate", Color.MAGENTA, lr, false)));
      BufferedImage img = ImageIO.read(png.toFile());
      assertNotNull(img, "a PNG");
      assertEquals(Curves.WIDTH, img.getWidth());
      assertEquals(3 * Curves.PANEL_HEIGHT, img.getHeight());
      try (Stream<Path> s = Files.list(tmp)) {
        assertEquals(List.of(png), s.toList(), "only curves.png in the directory");
      }
    }
  }
}
