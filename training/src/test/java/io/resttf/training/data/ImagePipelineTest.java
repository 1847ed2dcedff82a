package io.resttf.training.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.training.data.FashionMnist;
import io.resttf.model.Family;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.serving.ExportMetadata;
import io.resttf.model.Preprocessing;
import io.resttf.serving.RestClassifier;
import io.resttf.serving.SavedModelExporter;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java preprocessing against the official Fashion-MNIST formula and the exported graph's own preprocessing. */
class ImagePipelineTest {
  @Test
  void fashionPipelineIsTheOfficialFormula() {
    Assumptions.assumeTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist");
    FashionMnist test = FashionMnist.load(FashionMnist.Split.TEST);
    ImagePipeline p = new ImagePipeline(ImagePipeline.fashionMnist(), 1);
    assertEquals(64, p.inputSize());
    float[] out = new float[64 * 64];
    for (int i = 0; i < 20; i++) {
      byte[] raw = test.image(i);
      p.eval(new Image(28, 28, 1, raw), out, 0);
      for (int y = 0; y < 64; y++) {
        for (int x = 0; x < 64; x++) {
          // zero-pad 2 on the raw image, then nearest-neighbour ×2; x/255, (x - 0.2860)/0.3530 in float32
          int sy = y / 2 - 2, sx = x / 2 - 2;
          int v = sy >= 0 && sy < 28 && sx >= 0 && sx < 28 ? raw[sy * 28 + sx] & 0xff : 0;
          float want = ((float) v / 255f - 0.2860f) / 0.3530f;
          assertEquals(want, out[y * 64 + x], 0f, "image " + i + " (" + y + "," + x + ")");
        }
      }
    }
  }

  @Test
  void javaPreprocessingMatchesTheExportedGraph(@TempDir Path tmp) throws Exception {
    RestConfig gray = RestConfig.of(Family.V2, List.of(8, 16, 16, 16), List.of(1, 2, 2, 2), List.of(1, 1, 1, 1),
        List.of(2, 2, 1, 1), List.of(2, 2, 2, 2), 3, 1);
    RestConfig rgb = RestConfig.of(Family.V2, List.of(8, 16, 16, 16), List.of(1, 2, 2, 2), List.of(1, 1, 1, 1),
        List.of(2, 2, 1, 1), List.of(2, 2, 2, 2), 3, 3);
    SplittableRandom rng = new SplittableRandom(4);

    // 28×28 grey images under the Fashion preprocessing (no resampling): exactly equal
    List<BufferedImage> small = new ArrayList<>();
    for (int k = 0; k < 3; k++) small.add(smooth(28, 28, BufferedImage.TYPE_BYTE_GRAY, rng));
    double[] d = compare(tmp, "fashion", gray, ImagePipeline.fashionMnist(), small);
    assertEquals(0.0, d[0], 1e-6, "max difference, Fashion preprocessing (float rounding only)");

    // RGB images that are resized (down and up) and cropped: within one 8-bit level
    List<BufferedImage> big = List.of(smooth(100, 75, BufferedImage.TYPE_3BYTE_BGR, rng),
        smooth(40, 61, BufferedImage.TYPE_3BYTE_BGR, rng), smooth(300, 200, BufferedImage.TYPE_INT_RGB, rng));
    Preprocessing p = Preprocessing.imagenet(3).withSize(64);
    double[] e = compare(tmp, "imagenet", rgb, p, big);
    double level = 1 / 255.0 / 0.224; // one 8-bit level after normalisation (smallest std)
    assertTrue(e[0] <= 1.01 * level, "max difference " + e[0] + " > one level " + level);
    assertTrue(e[1] <= 0.05 * level, "mean difference " + e[1]);
  }

  /** {max, mean} |Java − graph| over the images. */
  private static double[] compare(Path tmp, String name, RestConfig cfg, Preprocessing pre, List<BufferedImage> images)
      throws Exception {
    try (RestModel m = RestModel.create(cfg)) {
      m.initFresh(1);
      new SavedModelExporter(tmp).export(name, cfg, m.stateDict(), ExportMetadata.defaults().withPreprocessing(pre));
    }
    ImagePipeline pipe = new ImagePipeline(pre, cfg.inChans());
    double max = 0, sum = 0;
    long n = 0;
    try (RestClassifier cl = RestClassifier.open(tmp.resolve(name))) {
      for (BufferedImage img : images) {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        float[] graph = cl.preprocess(List.of(RestClassifier.ImageInput.of("x.png", png.toByteArray()))).toFloats();
        float[] java = new float[pipe.sampleSize()];
        pipe.eval(ImageFolder.fromBufferedImage(ImageIO.read(new java.io.ByteArrayInputStream(png.toByteArray())),
            cfg.inChans()), java, 0);
        assertEquals(graph.length, java.length);
        for (int i = 0; i < java.length; i++) {
          double diff = Math.abs(graph[i] - java[i]);
          max = Math.max(max, diff);
          sum += diff;
          n++;
        }
      }
    }
    return new double[] {max, sum / n};
  }

  /** A smooth random image (sums of a few sinusoids): resampling differences stay in the rounding. */
  static BufferedImage smooth(int w, int h, int type, SplittableRandom rng) {
    BufferedImage img = new BufferedImage(w, h, type);
    double[][] f = new double[3][4];
    for (double[] r : f) for (int i = 0; i < 4; i++) r[i] = rng.nextDouble() * 0.3;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int[] c = new int[3];
        for (int ch = 0; ch < 3; ch++) {
          double v = 128 + 60 * Math.sin(f[ch][0] * x + f[ch][1] * y) + 40 * Math.cos(f[ch][2] * x - f[ch][3] * y);
          c[ch] = (int) Math.max(0, Math.min(255, Math.round(v)));
        }
        if (type == BufferedImage.TYPE_BYTE_GRAY) {
          img.getRaster().setSample(x, y, 0, c[0]);
        } else {
          img.setRGB(x, y, (c[0] << 16) | (c[1] << 8) | c[2]);
        }
      }
    }
    return img;
  }

  @Test
  void randomResizedCropStaysInsideAndFollowsTheSeed() {
    for (int t = 0; t < 200; t++) {
      SplittableRandom a = new SplittableRandom(t), b = new SplittableRandom(t);
      double[] box = ImagePipeline.randomResizedCropBox(120, 80, 0.08, a);
      assertTrue(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= 120 && box[1] + box[3] <= 80 && box[2] > 0 && box[3] > 0);
      assertEquals(java.util.Arrays.toString(box), java.util.Arrays.toString(ImagePipeline.randomResizedCropBox(120, 80, 0.08, b)));
    }
  }
}
