package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.Precision;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;

/**
 * export --precision bf16: the SavedModel keeps bfloat16 copies of its MatMul and convolution weights beside the
 * float32 variables; opened in bf16 it classifies exactly as a float32 export opened in bf16 (whose rewriter casts
 * the same weights on every run), and opened in fp32 it still loads and agrees on the top class.
 */
class Bf16ExportTest {
  @Test
  void bf16ExportCarriesCopiesAndClassifiesAsTheRewriterDoes(@TempDir Path base) {
    String c = TestModels.V2;
    SavedModelExporter exporter = new SavedModelExporter(base);
    SavedModelExporter.Result fp32 = exporter.export("fp32", TestModels.config(c), TestModels.weights(c), TestModels.metadata(c));
    SavedModelExporter.Result bf16 = exporter.export("bf16", TestModels.config(c), TestModels.weights(c), TestModels.metadata(c),
        SavedModelExporter.Options.DEFAULT.withPrecision(Precision.BF16));
    assertEquals("bf16", SavedModelExporter.readMetadata(bf16.versionDir()).path("precision").asText());
    assertEquals("fp32", SavedModelExporter.readMetadata(fp32.versionDir()).path("precision").asText());

    List<String> copies = new ArrayList<>();
    try (SavedModelBundle b = SavedModelBundle.load(bf16.versionDir().toString(), ServingSignatures.TAG)) {
      Graph g = b.graph();
      g.operations().forEachRemaining(op -> {
        if (op.type().equals("VariableV2") && op.name().endsWith(io.resttf.model.Params.BF16_COPY_SUFFIX)) {
          copies.add(op.name() + ":" + op.output(0).dataType());
        }
      });
    }
    assertTrue(copies.size() > 10, "bfloat16 copies in the export: " + copies);
    assertTrue(copies.stream().allMatch(s -> s.contains("BFLOAT16")), copies.toString());

    List<BufferedImage> images = new ArrayList<>();
    for (int i = 0; i < 6; i++) images.add(ClassifyImagesTest.synthetic(97 + 13 * i, 61 + 7 * i, BufferedImage.TYPE_INT_RGB, i));
    List<RestClassifier.ImageInput> inputs = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) inputs.add(RestClassifier.ImageInput.of("img" + i, images.get(i)));
    List<RestClassifier.Classification> rewriter, copied, copiedFp32;
    try (RestClassifier a = RestClassifier.open(fp32.versionDir(), null, Precision.BF16)) {
      rewriter = a.classifyAll(inputs);
    }
    try (RestClassifier a = RestClassifier.open(bf16.versionDir(), null, Precision.BF16)) {
      copied = a.classifyAll(inputs);
    }
    try (RestClassifier a = RestClassifier.open(bf16.versionDir())) {
      copiedFp32 = a.classifyAll(inputs);
    }
    for (int i = 0; i < inputs.size(); i++) {
      float[] want = rewriter.get(i).probabilities(), got = copied.get(i).probabilities();
      assertTrue(TestModels.maxAbsDiff(want, got) <= 1e-6, "image " + i + ": " + TestModels.maxAbsDiff(want, got));
      assertEquals(copied.get(i).top().get(0).index(), copiedFp32.get(i).top().get(0).index(), "image " + i);
    }
  }
}
