package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.Preprocessing;
import io.resttf.model.RestConfig;
import io.resttf.training.tfrecord.TfRecordDatasets;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training from the TFRecord shards `data to-tfrecord` writes from a folder gives the same weights, bit for bit,
 * as training from the folder with the same seed: the shards present the folder's images in its order, however
 * they were shuffled into shards.
 */
class TfRecordTrainingTest {
  @Test
  void tfrecordShardsTrainLikeTheirFolder(@TempDir Path tmp) throws Exception {
    Path folder = tmp.resolve("images");
    Random rng = new Random(11);
    for (String cls : new String[] {"circle", "square", "stripe"}) {
      Files.createDirectories(folder.resolve(cls));
      for (int i = 0; i < 6; i++) {
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) img.setRGB(x, y, rng.nextInt(1 << 24));
        ImageIO.write(img, "png", folder.resolve(cls).resolve("img" + i + ".png").toFile());
      }
    }
    Path records = tmp.resolve("records");
    TfRecordDatasets.fromImageFolder(folder, records, 4, 9, 40_000_000L, false, d -> { });
    RestConfig config = ResumeTest.micro().withNumClasses(3);
    Preprocessing pre = Preprocessing.imagenet(1).withSize(32);
    TrainOptions options = TrainOptions.recipe(TrainOptions.FASHION, 2, 6);
    Map<String, float[]> fromFolder, fromRecords;
    try (Trainer t = Trainer.start(tmp.resolve("a"), config, null, DataSpec.imageFolder(folder, 0, 0, pre), options,
        ResumeTest.settings())) {
      Trainer.Result r = t.run(null);
      assertTrue(r.finished());
      assertEquals(6, r.step());
      fromFolder = t.snapshot();
    }
    try (Trainer t = Trainer.start(tmp.resolve("b"), config, null, DataSpec.tfrecord(records.toString(), 0, pre), options,
        ResumeTest.settings())) {
      assertTrue(t.run(null).finished());
      fromRecords = t.snapshot();
    }
    assertEquals(fromFolder.keySet(), fromRecords.keySet());
    for (String k : fromFolder.keySet()) assertArrayEquals(fromFolder.get(k), fromRecords.get(k), k);
  }
}
