package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.RestNetwork;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;

/**
 * export with {@code withBands(ON)} (CLI: --bands on) carries the batch-1 bands whatever the exporting process's
 * thread pools; OFF carries none. Both classify alike, one image at a time and in batches; rest_tf.json says which.
 */
class BandsExportTest {
  @Test
  void bandsOnAndOffExportsClassifyAlike(@TempDir Path base) {
    String c = TestModels.V2;
    SavedModelExporter exporter = new SavedModelExporter(base);
    SavedModelExporter.Result on = exporter.export("on", TestModels.config(c), TestModels.weights(c), TestModels.metadata(c),
        SavedModelExporter.Options.DEFAULT.withBands(RestNetwork.Bands.ON));
    SavedModelExporter.Result off = exporter.export("off", TestModels.config(c), TestModels.weights(c),
        TestModels.metadata(c), SavedModelExporter.Options.DEFAULT.withBands(RestNetwork.Bands.OFF));
    assertTrue(SavedModelExporter.readMetadata(on.versionDir()).path("batch1_bands").asBoolean());
    assertFalse(SavedModelExporter.readMetadata(off.versionDir()).path("batch1_bands").asBoolean(true));
    // restv2_tiny's 1 + 2 + 6 + 2 blocks, each with its bands
    assertEquals(11, bandOps(on.versionDir()).size(), bandOps(on.versionDir()).toString());
    assertEquals(List.of(), bandOps(off.versionDir()));

    List<RestClassifier.ImageInput> inputs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      inputs.add(RestClassifier.ImageInput.of("img" + i, ClassifyImagesTest.synthetic(120 + 9 * i, 90 + 5 * i,
          BufferedImage.TYPE_INT_RGB, i)));
    }
    try (RestClassifier a = RestClassifier.open(on.versionDir()); RestClassifier b = RestClassifier.open(off.versionDir())) {
      List<RestClassifier.Classification> batchOn = a.classifyAll(inputs), batchOff = b.classifyAll(inputs);
      for (int i = 0; i < inputs.size(); i++) {
        float[] one = a.classifyAll(List.of(inputs.get(i))).get(0).probabilities();
        float[] whole = b.classifyAll(List.of(inputs.get(i))).get(0).probabilities();
        assertTrue(TestModels.maxAbsDiff(whole, one) <= 1e-5, "image " + i + " alone: " + TestModels.maxAbsDiff(whole, one));
        float[] x = batchOn.get(i).probabilities(), y = batchOff.get(i).probabilities();
        assertTrue(TestModels.maxAbsDiff(y, x) <= 1e-5, "image " + i + " in a batch: " + TestModels.maxAbsDiff(y, x));
      }
    }
  }

  /** The ops that cut a block into bands, in the exported graph. */
  private static List<String> bandOps(Path versionDir) {
    List<String> names = new ArrayList<>();
    try (SavedModelBundle b = SavedModelBundle.load(versionDir.toString(), ServingSignatures.TAG)) {
      b.graph().operations().forEachRemaining(op -> {
        if (op.name().endsWith("/" + RestNetwork.BLOCK_ROWS_SPLIT_OP)) names.add(op.name());
      });
    }
    return names;
  }
}
