package io.resttf.serving;

import io.resttf.model.Preprocessing;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.Family;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.serving.RestClassifier.Classification;
import io.resttf.serving.RestClassifier.ImageInput;
import io.resttf.serving.RestClassifier.ImageResult;
import io.resttf.serving.RestClassifier.Prediction;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;

/** classify_images end to end: real JPEG / PNG files of odd sizes, grayscale, RGBA, mixed batches, bad bytes. */
class ClassifyImagesTest {
  private static final List<String> LABELS =
      List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine");
  private static RestClassifier classifier;
  private static Path base;

  @BeforeAll
  static void export() throws IOException {
    base = Files.createTempDirectory("rest-tf-classify-test");
    String c = TestModels.V2;
    SavedModelExporter.Result r = new SavedModelExporter(base)
        .export("labelled", TestModels.config(c), TestModels.weights(c), TestModels.metadata(c).withLabels(LABELS));
    classifier = RestClassifier.open(r.versionDir());
  }

  @AfterAll
  static void close() {
    if (classifier != null) classifier.close();
    io.resttf.util.AtomicFiles.deleteQuietly(base);
  }

  static BufferedImage synthetic(int w, int h, int type, long seed) {
    BufferedImage img = new BufferedImage(w, h, type);
    Random rnd = new Random(seed);
    Graphics2D g = img.createGraphics();
    try {
      g.setColor(new Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256), 255));
      g.fillRect(0, 0, w, h);
      for (int i = 0; i < 25; i++) {
        g.setColor(new Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256), 64 + rnd.nextInt(192)));
        g.fillOval(rnd.nextInt(w), rnd.nextInt(h), 5 + rnd.nextInt(w), 5 + rnd.nextInt(h));
      }
    } finally {
      g.dispose();
    }
    return img;
  }

  static byte[] encode(BufferedImage img, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(img, format, out), "no " + format + " writer for this image type");
    return out.toByteArray();
  }

  private static void checkWellFormed(Classification c) {
    float sum = 0;
    for (float p : c.probabilities()) sum += p;
    assertEquals(1.0, sum, 1e-5, "probabilities sum to 1");
    assertEquals(5, c.top().size());
    for (int i = 0; i < c.top().size(); i++) {
      Prediction p = c.top().get(i);
      assertEquals(LABELS.get(p.index()), p.label(), "label of class " + p.index());
      assertEquals(c.probabilities()[p.index()], p.probability(), 1e-7);
      if (i > 0) assertTrue(c.top().get(i - 1).probability() >= p.probability(), "top-k sorted");
    }
    float max = 0;
    for (float p : c.probabilities()) max = Math.max(max, p);
    assertEquals(max, c.best().probability(), 0f, "the best is the most probable");
  }

  @Test
  void jpegAndPngOfOddSizeMatchClassificationOfTheSameImagePreprocessedByPil() throws IOException {
    Preprocessing p = classifier.preprocessing();
    for (String file : List.of("odd_333x517.png", "odd_333x517.jpg")) {
      Classification c = classifier.classify(TestModels.resource("pil/" + file));
      checkWellFormed(c);
      // the same image preprocessed outside the graph (PIL's transform, Normalize here) through serving_default
      BufferedImage pil = ImageIO.read(new ByteArrayInputStream(TestModels.resource("pil/" + file.replace('.', '_') + ".ref.png")));
      float[] x = new float[224 * 224 * 3];
      for (int y = 0; y < 224; y++) {
        for (int xx = 0; xx < 224; xx++) {
          int rgb = pil.getRGB(xx, y);
          int[] px = {(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255};
          for (int ch = 0; ch < 3; ch++) {
            x[(y * 224 + xx) * 3 + ch] = ((float) px[ch] / 255f - p.mean().get(ch).floatValue()) / p.std().get(ch).floatValue();
          }
        }
      }
      float[] ref = classifier.predict(HostTensor.ofFloats(new long[] {1, 224, 224, 3}, x)).probabilities().toFloats();
      double err = TestModels.maxAbsDiff(ref, c.probabilities());
      assertTrue(err < 1e-3, file + ": classify_images vs PIL-preprocessed serving_default differ by " + err);
      assertEquals(argmax(ref), c.best().index());
    }
  }

  @Test
  void graphPreprocessingFedToServingDefaultGivesTheSameAnswer() throws IOException {
    byte[] jpg = encode(synthetic(640, 427, BufferedImage.TYPE_INT_RGB, 5), "jpg");
    Classification c = classifier.classify(jpg);
    HostTensor x = classifier.preprocess(List.of(ImageInput.of("a.jpg", jpg)));
    float[] p = classifier.predict(x).probabilities().toFloats();
    assertTrue(TestModels.maxAbsDiff(p, c.probabilities()) < 1e-6);
  }

  @Test
  void grayscaleAndRgbaPngsAreConvertedAsPilConvertRgb() throws IOException {
    // grayscale: the same as the RGB image with the gray value in every channel
    BufferedImage gray = synthetic(97, 150, BufferedImage.TYPE_BYTE_GRAY, 7);
    BufferedImage grayAsRgb = new BufferedImage(97, 150, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 150; y++) {
      for (int x = 0; x < 97; x++) {
        int v = gray.getRaster().getSample(x, y, 0);
        grayAsRgb.setRGB(x, y, v << 16 | v << 8 | v);
      }
    }
    Classification g = classifier.classify(encode(gray, "png"));
    checkWellFormed(g);
    assertArrayEquals(classifier.classify(encode(grayAsRgb, "png")).probabilities(), g.probabilities(), 1e-6f);

    // RGBA: alpha dropped, colour kept (PIL convert('RGB') does not composite)
    BufferedImage rgba = synthetic(150, 97, BufferedImage.TYPE_INT_ARGB, 8);
    BufferedImage rgb = new BufferedImage(150, 97, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 97; y++) for (int x = 0; x < 150; x++) rgb.setRGB(x, y, rgba.getRGB(x, y) & 0xffffff);
    byte[] rgbaPng = encode(rgba, "png");
    Classification a = classifier.classify(rgbaPng);
    checkWellFormed(a);
    assertArrayEquals(classifier.classify(encode(rgb, "png")).probabilities(), a.probabilities(), 1e-6f);
    // the BufferedImage entry point sends the same pixels (as PNG)
    assertArrayEquals(a.probabilities(), classifier.classify(rgba).probabilities(), 1e-6f);
  }

  @Test
  void aBatchOfDifferentSizesEqualsEachImageAlone() throws IOException {
    List<ImageInput> batch = List.of(
        ImageInput.of("odd.png", TestModels.resource("pil/odd_333x517.png")),
        ImageInput.of("wide.jpg", encode(synthetic(640, 480, BufferedImage.TYPE_INT_RGB, 11), "jpg")),
        ImageInput.of("small-gray.png", encode(synthetic(64, 200, BufferedImage.TYPE_BYTE_GRAY, 12), "png")));
    List<Classification> all = classifier.classifyAll(batch);
    assertEquals(3, all.size());
    for (int i = 0; i < 3; i++) {
      Classification alone = classifier.classifyAll(List.of(batch.get(i))).get(0);
      assertEquals(batch.get(i).name(), all.get(i).image());
      assertArrayEquals(alone.probabilities(), all.get(i).probabilities(), 1e-6f, "image " + i);
      checkWellFormed(all.get(i));
    }
    assertFalse(Arrays.equals(all.get(0).probabilities(), all.get(1).probabilities()), "different images, different answers");
  }

  @Test
  void filesAreClassifiedByPath(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("photo.jpg");
    Files.write(f, encode(synthetic(300, 200, BufferedImage.TYPE_INT_RGB, 3), "jpg"));
    Classification c = classifier.classify(f);
    assertEquals(f.toString(), c.image());
    checkWellFormed(c);
    assertEquals(c.top(), classifier.top(c.probabilities(), 5));
    BadInputException e = assertThrows(BadInputException.class, () -> classifier.classify(dir.resolve("missing.png")));
    assertTrue(e.getMessage().contains("missing.png: no such file"), e.getMessage());
  }

  @Test
  void corruptOrNonImageBytesAreNamed() throws IOException {
    byte[] good = encode(synthetic(120, 90, BufferedImage.TYPE_INT_RGB, 1), "png");
    byte[] jpg = encode(synthetic(120, 90, BufferedImage.TYPE_INT_RGB, 2), "jpg");
    byte[] truncated = Arrays.copyOf(jpg, 200);
    byte[] text = "this is not an image".getBytes();

    BadInputException one = assertThrows(BadInputException.class, () -> classifier.classify(text));
    assertEquals("image: not a JPEG, PNG, GIF or BMP file", one.getMessage());

    BadInputException batch = assertThrows(BadInputException.class, () -> classifier.classifyAll(List.of(
        ImageInput.of("good.png", good), ImageInput.of("notes.txt", text), ImageInput.of("cut.jpg", truncated))));
    assertTrue(batch.getMessage().startsWith("image 1 (notes.txt): not a JPEG, PNG, GIF or BMP file"), batch.getMessage());
    assertTrue(batch.getMessage().contains("1 more failed: images 2"), batch.getMessage());
    assertFalse(batch.getMessage().contains("\n"), "one line");

    BadInputException cut = assertThrows(BadInputException.class,
        () -> classifier.classifyAll(List.of(ImageInput.of("cut.jpg", truncated))));
    assertTrue(cut.getMessage().startsWith("cut.jpg: cannot decode image: "), cut.getMessage());

    BadInputException pre = assertThrows(BadInputException.class,
        () -> classifier.preprocess(List.of(ImageInput.of("good.png", good), ImageInput.of("notes.txt", text))));
    assertEquals("image 1 (notes.txt): not a JPEG, PNG, GIF or BMP file", pre.getMessage());

    // per image: the good one still gets its answer
    List<ImageResult> each = classifier.classifyEach(List.of(
        ImageInput.of("good.png", good), ImageInput.of("notes.txt", text), ImageInput.of("cut.jpg", truncated),
        ImageInput.of("empty", new byte[0])));
    assertTrue(each.get(0).ok());
    assertArrayEquals(classifier.classify(good).probabilities(), each.get(0).classification().probabilities(), 1e-6f);
    assertEquals("not a JPEG, PNG, GIF or BMP file", each.get(1).error());
    assertNull(each.get(1).classification());
    assertTrue(each.get(2).error().startsWith("cannot decode image"), each.get(2).error());
    assertEquals("not a JPEG, PNG, GIF or BMP file", each.get(3).error());
  }

  /**
   * In a batch, the graph's parallel decode loop may report the cancellation of another image's iteration
   * instead of the bad image's InvalidArgument (seen once in CI: exit 1, "Function was cancelled before it
   * was started"). Whichever error TF reports, the bad images are found image by image: repeated runs of a
   * mixed batch must always give the good images their answers and the bad ones their own errors.
   */
  @Test
  void badImagesInABatchAreAlwaysFoundImageByImage() throws IOException {
    byte[] good = encode(synthetic(64, 48, BufferedImage.TYPE_INT_RGB, 3), "png");
    byte[] text = "not an image".getBytes();
    List<ImageInput> batch = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) batch.add(ImageInput.of("img" + i, i == 2 || i == 6 ? text : good));
    for (int round = 0; round < 20; round++) {
      List<ImageResult> each = classifier.classifyEach(batch);
      for (int i = 0; i < 8; i++) {
        if (i == 2 || i == 6) {
          assertEquals("not a JPEG, PNG, GIF or BMP file", each.get(i).error(), "round " + round + ", image " + i);
        } else {
          assertTrue(each.get(i).ok(), "round " + round + ", image " + i + ": " + each.get(i).error());
        }
      }
      BadInputException all = assertThrows(BadInputException.class, () -> classifier.classifyAll(batch));
      assertTrue(all.getMessage().startsWith("image 2 (img2): not a JPEG"), all.getMessage());
      BadInputException pre = assertThrows(BadInputException.class, () -> classifier.preprocess(batch));
      assertTrue(pre.getMessage().startsWith("image 2 (img2): not a JPEG"), pre.getMessage());
    }
  }

  @Test
  void tfServingClientsGetReadableErrorsFromTheGraph() {
    var session = classifier.bundle().session();
    byte[] good = TestModels.resource("pil/odd_333x517.jpg");
    try (TString in = TString.tensorOfBytes(NdArrays.vectorOfObjects(good, "junk".getBytes()))) {
      RuntimeException e = assertThrows(RuntimeException.class,
          () -> session.runner().feed("image_bytes:0", in).fetch("probabilities:0").run().close());
      assertTrue(e.getMessage().contains("image_bytes[1] is not a JPEG, PNG, GIF or BMP file"), e.getMessage());
    }
    try (TFloat32 in = TFloat32.tensorOf(Shape.of(1, 100, 64, 3), DataBuffers.of(new float[100 * 64 * 3], true, false))) {
      RuntimeException e = assertThrows(RuntimeException.class,
          () -> session.runner().feed("pixel_values:0", in).fetch("logits:0").run().close());
      assertTrue(e.getMessage().contains("height and width multiples of 32 and at least 32; got shape [1 100 64 3]"),
          e.getMessage());
    }
    // and through the Java API, a one-line BadInputException before anything runs
    BadInputException bad = assertThrows(BadInputException.class,
        () -> classifier.predict(HostTensor.ofFloats(new long[] {1, 100, 64, 3}, new float[100 * 64 * 3])));
    assertTrue(bad.getMessage().contains("multiple of 32"), bad.getMessage());
  }

  @Test
  void oneChannelModelsGetPilLuma(@TempDir Path dir) {
    RestConfig cfg = RestConfig.of(Family.V2, List.of(8, 16, 32, 64), List.of(1, 2, 4, 8), List.of(1, 1, 1, 1),
        List.of(8, 4, 2, 1), List.of(2, 2, 2, 2), 3, 1);
    Map<String, HostTensor> sd;
    try (RestModel m = RestModel.create(cfg)) {
      m.initFresh(1);
      sd = m.stateDict();
    }
    Preprocessing pre = Preprocessing.of(64, 0.875, List.of(0.5), List.of(0.25));
    SavedModelExporter.Result r = new SavedModelExporter(dir).export("gray", cfg, sd,
        ExportMetadata.defaults().withPreprocessing(pre).withLabels(List.of("a", "b", "c")));
    try (RestClassifier c = RestClassifier.open(dir.resolve("gray"))) {
      assertEquals(r.versionDir(), c.directory());
      BufferedImage img = new BufferedImage(90, 70, BufferedImage.TYPE_INT_RGB);
      for (int y = 0; y < 70; y++) for (int x = 0; x < 90; x++) img.setRGB(x, y, 200 << 16 | 100 << 8 | 50);
      HostTensor x = c.preprocess(List.of(ImageInput.of("uniform", img)));
      assertArrayEquals(new long[] {1, 64, 64, 1}, x.shape());
      int luma = (200 * 19595 + 100 * 38470 + 50 * 7471 + 32768) >> 16;
      float expect = ((float) luma / 255f - 0.5f) / 0.25f;
      for (float v : x.toFloats()) assertEquals(expect, v, 1e-6f);
      Classification cl = c.classify(img);
      assertEquals(3, cl.top().size());
      assertTrue(List.of("a", "b", "c").contains(cl.best().label()));
    }
  }

  private static int argmax(float[] p) {
    int best = 0;
    for (int i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
    return best;
  }

}
