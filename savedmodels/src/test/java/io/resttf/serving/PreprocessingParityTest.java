package io.resttf.serving;

import io.resttf.model.Preprocessing;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.HostTensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The in-graph preprocessing against PIL: {@code pil/*.ref.png} are the official evaluation transform
 * (PIL convert('RGB'), Resize(256, BICUBIC), CenterCrop(224)) of the source images, made by
 * {@code pil/make_pil_refs.py} with Debian's python3-pil 9.4. ToTensor + Normalize are applied here.
 */
class PreprocessingParityTest {
  private static RestClassifier classifier;

  @BeforeAll
  static void open() {
    classifier = RestClassifier.open(TestModels.exported(TestModels.V2).versionDir());
  }

  @AfterAll
  static void close() {
    if (classifier != null) classifier.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"odd_333x517.png", "odd_333x517.jpg", "gray_150x97.png", "rgba_97x150.png"})
  void graphPreprocessingMatchesPil(String source) throws IOException {
    byte[] bytes = TestModels.resource("pil/" + source);
    HostTensor got = classifier.preprocess(List.of(RestClassifier.ImageInput.of(source, bytes)));
    assertArrayEquals(new long[] {1, 224, 224, 3}, got.shape());

    String ref = "pil/" + source.replace('.', '_') + ".ref.png";
    BufferedImage pil = ImageIO.read(new ByteArrayInputStream(TestModels.resource(ref)));
    Preprocessing p = classifier.preprocessing();
    float[] g = got.toFloats();
    int off = 0, worst = 0;
    for (int y = 0; y < 224; y++) {
      for (int x = 0; x < 224; x++) {
        int rgb = pil.getRGB(x, y);
        int[] px = {(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255};
        for (int c = 0; c < 3; c++) {
          // back to the uint8 level the graph produced
          double level = (g[(y * 224 + x) * 3 + c] * p.std().get(c).floatValue() + p.mean().get(c).floatValue()) * 255.0;
          int d = (int) Math.round(Math.abs(level - px[c]));
          worst = Math.max(worst, d);
          if (d > 0) off++;
        }
      }
    }
    double frac = off / (224.0 * 224 * 3);
    System.out.printf("%s: %.4f%% of values differ from PIL, by at most %d level(s)%n", source, frac * 100, worst);
    assertTrue(worst <= 1, source + ": a value differs from PIL by " + worst + " levels");
    assertTrue(frac < 0.001, source + ": " + frac * 100 + "% of values differ from PIL");

    // and exactly the Normalize of those levels where they agree: float32 ToTensor then Normalize
    int rgb = pil.getRGB(100, 100);
    int r = (rgb >> 16) & 255;
    float expect = ((float) r / 255f - p.mean().get(0).floatValue()) / p.std().get(0).floatValue();
    float actual = g[(100 * 224 + 100) * 3];
    assertTrue(Math.abs(expect - actual) < 0.02f, "normalisation " + expect + " vs " + actual);
  }
}
