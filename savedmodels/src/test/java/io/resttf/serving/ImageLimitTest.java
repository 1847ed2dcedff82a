package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.serving.RestClassifier.ImageInput;
import io.resttf.serving.RestClassifier.ImageResult;
import io.resttf.tensor.BadInputException;
import io.resttf.testing.TestImages;
import io.resttf.util.ImageHeader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Result;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.types.TString;

/**
 * Decompression bombs (issue 11: a 1.17 MB PNG of 20000×20000 classified after 30 s at 6.8 GB RSS) are
 * refused from their header, before decoding, by RestClassifier and by the exported graph itself (what
 * TF Serving runs). The timeouts only guard against a hang: a decode of 20000×20000 would allocate 1.2 GB.
 */
class ImageLimitTest {
  private static final byte[] BIG_PNG = TestImages.bigPng(20000, 20000);
  private static RestClassifier classifier;
  /** An export whose graph refuses more than 3000 pixels. */
  private static RestClassifier small;
  private static Path base;

  @BeforeAll
  static void open() throws Exception {
    classifier = RestClassifier.open(TestModels.exported(TestModels.V2).versionDir());
    base = Files.createTempDirectory("rest-tf-limit-test");
    String c = TestModels.V2;
    SavedModelExporter.Result r = new SavedModelExporter(base)
        .export("small", TestModels.config(c), TestModels.weights(c), TestModels.metadata(c).withMaxPixels(3000));
    small = RestClassifier.open(r.versionDir());
  }

  @AfterAll
  static void close() {
    if (classifier != null) classifier.close();
    if (small != null) small.close();
    io.resttf.util.AtomicFiles.deleteQuietly(base);
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void bigPngIsRefusedByTheJavaApiBeforeDecoding() {
    BadInputException e = assertThrows(BadInputException.class, () -> classifier.classifyAll(List.of(ImageInput.of("big.png", BIG_PNG))));
    assertEquals("big.png: 20000×20000 = 400 MP exceeds the limit of 40 MP (--max-pixels)", e.getMessage());
    BadInputException p = assertThrows(BadInputException.class, () -> classifier.preprocess(List.of(ImageInput.of("big.png", BIG_PNG))));
    assertEquals("big.png: 20000×20000 = 400 MP exceeds the limit of 40 MP (--max-pixels)", p.getMessage());
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void bigPngIsRefusedByTheClassifyImagesSignature() {
    // The signature as TF Serving calls it: no Java check in front of the graph.
    for (String sig : List.of(ServingSignatures.CLASSIFY_IMAGES, ServingSignatures.PREPROCESS_IMAGES)) {
      RuntimeException e = assertThrows(RuntimeException.class, () -> callSignature(classifier, sig, BIG_PNG));
      assertTrue(e.getMessage().contains("image_bytes[0]: 20000x20000 = 400000000 pixels exceeds the limit of 40000000 pixels"),
          sig + ": " + e.getMessage());
      assertEquals("20000×20000 = 400 MP exceeds the limit of 40 MP (--max-pixels)", RestClassifier.imageError(e));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"png", "jpg", "gif", "bmp"})
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void hugeHeaderOfEachFormatIsRefusedInGraph(String format) {
    byte[] bomb = TestImages.withDimensions(TestImages.encoded(format, 48, 40), 60000, 50000);
    RuntimeException e = assertThrows(RuntimeException.class, () -> callSignature(classifier, ServingSignatures.CLASSIFY_IMAGES, bomb));
    assertTrue(e.getMessage().contains("image_bytes[0]: 60000x50000 = 3000000000 pixels exceeds the limit"), format + ": " + e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"png", "jpg", "gif", "bmp"})
  void exportedLimitIsBakedIntoTheGraph(String format) {
    assertEquals(3000, small.metadata().path("max_pixels").asLong());
    assertEquals(ImageHeader.DEFAULT_MAX_PIXELS, classifier.metadata().path("max_pixels").asLong());
    byte[] fits = TestImages.encoded(format, 60, 50); // 3000 pixels: at the limit
    byte[] over = TestImages.encoded(format, 61, 50);
    assertEquals(1, small.classifyAll(List.of(ImageInput.of("fits", fits))).size());
    // The Java check raised above the export's limit: the graph still refuses, with the same message.
    small.maxPixels(1_000_000);
    try {
      BadInputException e = assertThrows(BadInputException.class, () -> small.classifyAll(List.of(ImageInput.of("over." + format, over))));
      assertEquals("over." + format + ": 61×50 = 3050 pixels exceeds the limit of 3000 pixels (--max-pixels)", e.getMessage());
    } finally {
      small.maxPixels(3000);
    }
    BadInputException e = assertThrows(BadInputException.class, () -> small.classifyAll(List.of(ImageInput.of("over", over))));
    assertEquals("over: 61×50 = 3050 pixels exceeds the limit of 3000 pixels (--max-pixels)", e.getMessage());
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void mixedBatchNamesTheBigImageAndClassifiesTheOthers() {
    List<ImageInput> batch = List.of(
        ImageInput.of("a.jpg", TestImages.encoded("jpg", 64, 48)),
        ImageInput.of("big.png", BIG_PNG),
        ImageInput.of("b.png", TestImages.encoded("png", 40, 70)));
    List<ImageResult> each = classifier.classifyEach(batch);
    assertTrue(each.get(0).ok());
    assertEquals("20000×20000 = 400 MP exceeds the limit of 40 MP (--max-pixels)", each.get(1).error());
    assertNull(each.get(1).classification());
    assertTrue(each.get(2).ok());
    var alone = classifier.classifyAll(List.of(batch.get(0), batch.get(2)));
    assertEquals(alone.get(0).top(), each.get(0).classification().top());
    assertEquals(alone.get(1).top(), each.get(2).classification().top());
    BadInputException all = assertThrows(BadInputException.class, () -> classifier.classifyAll(batch));
    assertEquals("image 1 (big.png): 20000×20000 = 400 MP exceeds the limit of 40 MP (--max-pixels)", all.getMessage());

    // The graph alone (Java check lifted) names the same image through the per-image diagnosis.
    small.maxPixels(Long.MAX_VALUE);
    try {
      List<ImageResult> graph = small.classifyEach(List.of(
          ImageInput.of("a", TestImages.encoded("jpg", 30, 30)), ImageInput.of("big.png", BIG_PNG)));
      assertTrue(graph.get(0).ok());
      assertEquals("20000×20000 = 400 MP exceeds the limit of 3000 pixels (--max-pixels)", graph.get(1).error());
    } finally {
      small.maxPixels(3000);
    }
  }

  @Test
  void limitOptionIsValidated() {
    assertThrows(BadInputException.class, () -> classifier.maxPixels(0));
    assertThrows(BadInputException.class, () -> TestModels.metadata(TestModels.V2).withMaxPixels(-1).resolve(TestModels.config(TestModels.V2)));
  }

  private static void callSignature(RestClassifier c, String signature, byte[] image) {
    try (TString in = TString.tensorOfBytes(NdArrays.vectorOfObjects(new byte[][] {image}));
        Result r = c.bundle().function(signature).call(Map.of(ServingSignatures.IMAGE_BYTES, in))) {
      throw new AssertionError(signature + " accepted the image");
    }
  }
}
