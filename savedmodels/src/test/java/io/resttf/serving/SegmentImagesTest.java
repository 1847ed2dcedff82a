package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;

/**
 * segment_images against mmseg's test pipeline run with OpenCV (bench/pytorch/make_seg_pipeline_fixtures.py):
 * the in-graph AlignResize + Normalize, and the class map at each image's own size.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SegmentImagesTest {
  static final Path SEG = DenseExportTest.SEG;
  static final Path REF = Path.of("src/test/resources/io/resttf/serving/segpipe");
  static final Path PIL = Path.of("src/test/resources/io/resttf/serving/pil");
  Path versionDir;

  @BeforeAll
  void export(@TempDir Path tmp) {
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(SEG.resolve("weights.pth"), false, null);
    ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
    versionDir = new SavedModelExporter(tmp.resolve("models")).exportDense("seg",
        DenseExport.segmentor(d.backbone().config(), d.head(), List.of()), w.stateDict(), RestModel.LoadOptions.STRICT,
        SavedModelExporter.Options.DEFAULT).versionDir();
  }

  @Test
  void preprocessingEqualsOpenCvBitForBit() throws Exception {
    for (String name : List.of("odd_333x517.jpg", "rgba_97x150.png")) {
      HostTensor ref = Npy.read(REF.resolve(name + ".aligned.npy"));
      try (SavedModelBundle b = SavedModelBundle.load(versionDir.toString(), "serve");
          TString bytes = TString.tensorOfBytes(NdArrays.vectorOfObjects(Files.readAllBytes(PIL.resolve(name))));
          Result r = b.function("preprocess_images").call(Map.of("image_bytes", bytes))) {
        HostTensor px = TfTensors.toHost((TFloat32) r.get("pixel_values").orElseThrow());
        long[] s = ref.shape();
        assertArrayEquals(new long[] {1, s[0], s[1], 3}, px.shape(), name);
        float[] v = px.toFloats();
        long[] want = ref.toLongs();
        int[] histogram = new int[256];
        for (int i = 0; i < v.length; i++) {
          int c = i % 3;
          double grey = v[i] * DenseExport.TestPipeline.ADE20K.std().get(c) + DenseExport.TestPipeline.ADE20K.mean().get(c);
          histogram[(int) Math.min(255, Math.abs(Math.round(grey) - want[i]))]++;
        }
        System.out.printf("%s: of %d values, %d equal OpenCV's, %d one grey level off, %d two, %d more%n", name, v.length,
            histogram[0], histogram[1], histogram[2], v.length - histogram[0] - histogram[1] - histogram[2]);
        assertEquals(v.length, histogram[0], name + ": the in-graph AlignResize must equal OpenCV's bit for bit");
        TInt32 sizes = (TInt32) r.get("original_sizes").orElseThrow();
        int[] hw = {sizes.getInt(0, 0), sizes.getInt(0, 1)};
        long[] cm = Npy.read(REF.resolve(name + ".class_map.npy")).shape();
        assertArrayEquals(new int[] {(int) cm[0], (int) cm[1]}, hw);
      }
    }
  }

  @Test
  void classMapsAtTheImagesOwnSizeAgreeWithTheReferencePipeline() throws Exception {
    String name = "odd_333x517.jpg";
    byte[] jpg = Files.readAllBytes(PIL.resolve(name));
    HostTensor ref = Npy.read(REF.resolve(name + ".class_map.npy"));
    try (SavedModelBundle b = SavedModelBundle.load(versionDir.toString(), "serve");
        TString bytes = TString.tensorOfBytes(NdArrays.vectorOfObjects(jpg, jpg));
        Result r = b.function("segment_images").call(Map.of("image_bytes", bytes))) {
      TInt32 map = (TInt32) r.get("class_map").orElseThrow();
      assertArrayEquals(new long[] {2, ref.shape()[0], ref.shape()[1]}, map.shape().asArray());
      long[] want = ref.toLongs();
      int h = (int) ref.shape()[0], w = (int) ref.shape()[1], same = 0;
      for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) if (map.getInt(0, y, x) == want[y * w + x]) same++;
      System.out.printf("%s: class map agrees with the OpenCV + float64 reference on %.3f %% of pixels%n", name,
          100.0 * same / (h * w));
      // same pixels in: the class map differs only where float32 and float64 logits tie to within rounding
      assertTrue(same >= 0.9995 * h * w, same + " of " + h * w);
      TInt64 areas = (TInt64) r.get("class_areas").orElseThrow();
      assertArrayEquals(new long[] {2, 10}, areas.shape().asArray());
      long total = 0;
      for (int k = 0; k < 10; k++) {
        long count = 0;
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) if (map.getInt(1, y, x) == k) count++;
        assertEquals(count, areas.getLong(1, k), "class " + k);
        total += areas.getLong(0, k);
      }
      assertEquals((long) h * w, total);
    }
  }

  @Test
  void imagesOfDifferentSizesOrCorruptBytesAreRefusedWithReasons() throws Exception {
    byte[] jpg = Files.readAllBytes(PIL.resolve("odd_333x517.jpg"));
    byte[] png = Files.readAllBytes(PIL.resolve("rgba_97x150.png"));
    try (SavedModelBundle b = SavedModelBundle.load(versionDir.toString(), "serve")) {
      try (TString bytes = TString.tensorOfBytes(NdArrays.vectorOfObjects(jpg, png))) {
        RuntimeException e = assertThrows(RuntimeException.class,
            () -> b.function("segment_images").call(Map.of("image_bytes", bytes)).close());
        assertTrue(e.getMessage().contains("segment_images takes images of one size per request"), e.getMessage());
      }
      try (TString bytes = TString.tensorOfBytes(NdArrays.vectorOfObjects(jpg, "not an image".getBytes()))) {
        RuntimeException e = assertThrows(RuntimeException.class,
            () -> b.function("segment_images").call(Map.of("image_bytes", bytes)).close());
        assertTrue(e.getMessage().contains("image_bytes[1] is not a JPEG, PNG, GIF or BMP file"), e.getMessage());
      }
    }
  }
}
