package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dense exports (an mmseg segmentor, a detectron2 backbone) reloaded in a separate JVM with plain
 * SavedModelBundle reproduce the float64 references: seg_logits, class_map, the normed features.
 */
class DenseExportTest {
  static final Path SEG = Path.of("../converters/src/test/resources/io/resttf/seg/parity/restv2_tiny-narrow-upernet");
  static final Path D2 = Path.of("../converters/src/test/resources/io/resttf/d2/parity/restv2_tiny-narrow-d2");

  @Test
  void segmentationExportReloadedInAnotherJvmReproducesTheReference(@TempDir Path tmp) throws Exception {
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(SEG.resolve("weights.pth"), false, null);
    ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
    SavedModelExporter.Result r = new SavedModelExporter(tmp.resolve("models")).exportDense("seg",
        DenseExport.segmentor(d.backbone().config(), d.head(), List.of()), w.stateDict(), RestModel.LoadOptions.STRICT,
        SavedModelExporter.Options.DEFAULT);
    assertEquals(List.of("serving_default", "segment_images", "preprocess_images", "features"), r.signatures());
    JsonNode meta = SavedModelExporter.JSON.readTree(r.versionDir().resolve("assets/rest_tf.json").toFile());
    assertEquals("segmentation", meta.get("task").asText());
    assertEquals(10, meta.get("head").get("num_classes").asInt());
    assertEquals(10, Files.readAllLines(r.versionDir().resolve("assets/labels.txt")).size());

    HostTensor x = Layouts.nchwToNhwc(Npy.read(SEG.resolve("input_1.npy")));
    Path xFile = tmp.resolve("x.npy");
    Npy.write(xFile, x);
    Path out = Files.createDirectories(tmp.resolve("out"));
    String log = ChildJvm.run(ReloadDenseMain.class, r.versionDir().toString(), out.toString(), xFile.toString());
    assertTrue(log.contains("RELOAD OK"), log);

    HostTensor ref = Npy.read(SEG.resolve("seg_logits_1.npy"));
    assertClose(ref, Npy.read(out.resolve("seg_logits.npy")), 1e-4, "seg_logits");
    for (int s = 1; s <= 4; s++) {
      assertClose(Npy.read(SEG.resolve("stage" + s + "_1.npy")), Npy.read(out.resolve("stage" + s + ".npy")), 1e-4, "stage" + s);
    }
    // class_map is the reference's argmax wherever the best two classes are not within rounding of each other
    long[] map = Npy.read(out.resolve("class_map.npy")).toLongs();
    float[] l = ref.toFloats();
    int k = 10, checked = 0;
    assertArrayEquals(new long[] {2, 224, 160}, Npy.read(out.resolve("class_map.npy")).shape());
    for (int p = 0; p < map.length; p++) {
      int best = 0;
      float second = Float.NEGATIVE_INFINITY;
      for (int j = 1; j < k; j++) if (l[p * k + j] > l[p * k + best]) best = j;
      for (int j = 0; j < k; j++) if (j != best) second = Math.max(second, l[p * k + j]);
      if (l[p * k + best] - second > 1e-3) {
        assertEquals(best, map[p], "pixel " + p);
        checked++;
      }
    }
    assertTrue(checked > map.length * 0.95, "compared " + checked + " of " + map.length + " pixels");

    // a classifier cannot open it, and says why
    BadInputException e = assertThrows(BadInputException.class, () -> RestClassifier.open(r.versionDir()));
    assertTrue(e.getMessage().contains("a segmentation export, not a classifier"), e.getMessage());
  }

  @Test
  void detectron2BackboneExportGivesTheNormedFeatures(@TempDir Path tmp) throws Exception {
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(D2.resolve("model_final.pth"), false, null);
    ConfigDetector.BackboneDetection d = ConfigDetector.detectDetectron2(w.stateDict());
    SavedModelExporter.Result r = new SavedModelExporter(tmp.resolve("models")).exportDense("d2",
        DenseExport.backbone(d.backbone().config(), d.style(), d.keyPrefix()), w.stateDict(), d.loadOptions(),
        SavedModelExporter.Options.DEFAULT);
    assertEquals(List.of("features"), r.signatures());
    HostTensor x = Layouts.nchwToNhwc(Npy.read(D2.resolve("input_0.npy")));
    Path xFile = tmp.resolve("x.npy");
    Npy.write(xFile, x);
    Path out = Files.createDirectories(tmp.resolve("out"));
    assertTrue(ChildJvm.run(ReloadDenseMain.class, r.versionDir().toString(), out.toString(), xFile.toString()).contains("RELOAD OK"));
    for (int s = 1; s <= 4; s++) {
      assertClose(Npy.read(D2.resolve("stage" + s + "_0.npy")), Npy.read(out.resolve("stage" + s + ".npy")), 1e-4, "stage" + s);
    }
  }

  private static void assertClose(HostTensor expected, HostTensor actual, double tol, String what) {
    assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
    double err = TestModels.maxAbsDiff(expected.toFloats(), actual.toFloats());
    double scale = Math.max(1, TestModels.maxAbs(expected.toFloats()));
    assertTrue(err / scale <= tol, what + ": error " + err + " (scale " + scale + ")");
  }
}
