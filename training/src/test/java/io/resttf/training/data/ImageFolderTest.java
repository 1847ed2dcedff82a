package io.resttf.training.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
  static void png(Path file, int v) throws Exception {
    Files.createDirectories(file.getParent());
    BufferedImage img = new BufferedImage(8, 6, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < 6; y++) for (int x = 0; x < 8; x++) img.getRaster().setSample(x, y, 0, (v + x * y) & 0xff);
    ImageIO.write(img, "png", file.toFile());
  }

  static String message(Path dir) {
    return assertThrows(BadInputException.class, () -> ImageFolder.open(dir, 1, 0.1, 0)).getMessage();
  }

  @Test
  void refusesFoldersItCannotTrainOn(@TempDir Path tmp) throws Exception {
    assertTrue(message(tmp.resolve("missing")).contains("no such directory"));
    Files.writeString(tmp.resolve("file.txt"), "x");
    assertTrue(message(tmp.resolve("file.txt")).contains("not a directory"));
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    assertTrue(message(empty).contains("no class folders"), message(empty));
    Path one = tmp.resolve("one");
    png(one.resolve("cat/a.png"), 1);
    assertTrue(message(one).contains("at least two"), message(one));
    Path noImages = tmp.resolve("noimages");
    png(noImages.resolve("cat/a.png"), 1);
    Files.createDirectories(noImages.resolve("dog"));
    Files.writeString(noImages.resolve("dog/readme.txt"), "not an image");
    String m = message(noImages);
    assertTrue(m.contains("dog") && m.contains("has no images"), m);
    Path strayVal = tmp.resolve("strayval");
    png(strayVal.resolve("train/cat/a.png"), 1);
    png(strayVal.resolve("train/dog/a.png"), 2);
    png(strayVal.resolve("val/cow/a.png"), 3);
    assertTrue(message(strayVal).contains("cow"), message(strayVal));
  }

  @Test
  void trainValLayoutAndHeldOutSplit(@TempDir Path tmp) throws Exception {
    Path tv = tmp.resolve("tv");
    for (int i = 0; i < 3; i++) {
      png(tv.resolve("train/b/" + i + ".png"), i);
      png(tv.resolve("train/a/" + i + ".PNG"), i);
    }
    png(tv.resolve("val/a/x.jpg.png"), 9);
    Files.writeString(tv.resolve("train/a/.hidden.png"), "ignored");
    ImageFolder.Split s = ImageFolder.open(tv, 1, 0.5, 0);
    assertEquals(List.of("a", "b"), s.train().classes());
    assertEquals(6, s.train().size());
    assertNotNull(s.val());
    assertEquals(1, s.val().size());
    assertEquals(0, s.val().label(0));

    Path flat = tmp.resolve("flat");
    for (int i = 0; i < 10; i++) {
      png(flat.resolve("x/" + i + ".png"), i);
      png(flat.resolve("y/" + i + ".png"), i);
    }
    ImageFolder.Split a = ImageFolder.open(flat, 1, 0.2, 7), b = ImageFolder.open(flat, 1, 0.2, 7);
    assertEquals(16, a.train().size());
    assertEquals(4, a.val().size());
    Set<Path> train = new HashSet<>(), val = new HashSet<>();
    for (int i = 0; i < 16; i++) train.add(a.train().file(i));
    for (int i = 0; i < 4; i++) {
      val.add(a.val().file(i));
      assertEquals(a.val().file(i), b.val().file(i), "the held-out images follow the seed");
    }
    train.retainAll(val);
    assertTrue(train.isEmpty(), "no image in both");
    assertNull(ImageFolder.open(flat, 1, 0, 7).val());
  }

  @Test
  void undecodableImagesAreReportedNotFatal(@TempDir Path tmp) throws Exception {
    png(tmp.resolve("a/ok.png"), 1);
    png(tmp.resolve("b/ok.png"), 2);
    Files.write(tmp.resolve("b/broken.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
    ImageFolder f = ImageFolder.open(tmp, 3, 0, 0).train();
    assertEquals(3, f.size());
    int broken = f.file(1).getFileName().toString().equals("broken.png") ? 1 : 2;
    Dataset.DecodeException e = assertThrows(Dataset.DecodeException.class, () -> f.image(broken));
    assertTrue(e.getMessage().contains("broken.png"), e.getMessage());
    Image ok = f.image(0);
    assertEquals(3, ok.channels());
    assertEquals(8, ok.width());
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void bigPngIsRefusedPerImageBeforeDecoding(@TempDir Path tmp) throws Exception {
    png(tmp.resolve("a/ok.png"), 1);
    png(tmp.resolve("b/ok.png"), 2);
    Files.createDirectories(tmp.resolve("b"));
    Files.write(tmp.resolve("b/big.png"), io.resttf.testing.TestImages.bigPng(20000, 20000));
    ImageFolder f = ImageFolder.open(tmp, 3, 0, 0).train();
    int big = f.file(1).getFileName().toString().equals("big.png") ? 1 : 2;
    Dataset.DecodeException e = assertThrows(Dataset.DecodeException.class, () -> f.image(big));
    assertEquals(f.file(big) + ": 20000×20000 = 400 MP exceeds the limit of 40 MP (--max-pixels)", e.getMessage());
    assertEquals(8, f.image(0).width());
    // a lower limit refuses the small images too; the data spec carries the limit through run.json
    ImageFolder strict = ImageFolder.open(tmp, 3, 0, 0, 10).train();
    Dataset.DecodeException s = assertThrows(Dataset.DecodeException.class, () -> strict.image(0));
    assertTrue(s.getMessage().endsWith("exceeds the limit of 10 pixels (--max-pixels)"), s.getMessage());
    io.resttf.training.DataSpec spec = io.resttf.training.DataSpec.imageFolder(tmp, 0, 0, ImagePipeline.fashionMnist()).withMaxPixels(10);
    assertEquals(10, io.resttf.training.DataSpec.fromJson(spec.toJsonNode(), "run.json").maxPixels());
    assertThrows(io.resttf.tensor.BadInputException.class, () -> ImageFolder.open(tmp, 3, 0, 0, 0));
  }
}
