package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java segmentation API: shared between threads, the same answers; modes; bad input. */
class RestSegmenterTest {
  @Test
  void concurrentCallsGiveTheSingleThreadedAnswer(@TempDir Path tmp) throws Exception {
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(DenseExportTest.SEG.resolve("weights.pth"), false, null);
    ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
    Path dir = new SavedModelExporter(tmp).exportDense("seg", DenseExport.segmentor(d.backbone().config(), d.head(), List.of()),
        w.stateDict(), RestModel.LoadOptions.STRICT, SavedModelExporter.Options.DEFAULT).versionDir();
    byte[] image = Files.readAllBytes(SegmentImagesTest.PIL.resolve("odd_333x517.jpg"));
    try (RestSegmenter s = RestSegmenter.open(dir)) {
      assertEquals(10, s.labels().size());
      RestSegmenter.Segmentation one = s.segment(image, RestSegmenter.Mode.WHOLE, 512, 341, false);
      assertEquals(333, one.width());
      assertEquals(517, one.height());
      assertEquals(333L * 517, java.util.Arrays.stream(one.areas()).sum());
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<RestSegmenter.Segmentation>> futures = new ArrayList<>();
        for (int i = 0; i < 4; i++) futures.add(pool.submit(() -> s.segment(image, RestSegmenter.Mode.WHOLE, 512, 341, false)));
        for (Future<RestSegmenter.Segmentation> f : futures) assertArrayEquals(one.classMap(), f.get().classMap());
      } finally {
        pool.shutdown();
      }
      // the aligned image is 800x512: a 512 crop slides along its height; one larger than it is refused
      RestSegmenter.Segmentation slide = s.segment(image, RestSegmenter.Mode.SLIDE, 512, 341, false);
      assertEquals(one.classMap().length, slide.classMap().length);
      BadInputException tooBig = assertThrows(BadInputException.class,
          () -> s.segment(image, RestSegmenter.Mode.SLIDE, 800, 800, false));
      assertTrue(tooBig.getMessage().contains("smaller than the 800-pixel slide crop"), tooBig.getMessage());
      RestSegmenter.Segmentation flipped = s.segment(image, RestSegmenter.Mode.WHOLE, 512, 341, true);
      int same = 0;
      for (int p = 0; p < one.classMap().length; p++) if (one.classMap()[p] == flipped.classMap()[p]) same++;
      assertTrue(same < one.classMap().length, "flip averaging changes some pixels");
      BadInputException e = assertThrows(BadInputException.class,
          () -> s.segment("GIF89a....".getBytes(), RestSegmenter.Mode.WHOLE, 512, 341, false));
      assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }
  }
}
