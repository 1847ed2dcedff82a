package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.training.data.FashionMnist;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** data fashion-mnist: Debian's test set as PNG folders, pixel for pixel, one folder per class in class order. */
class DataFashionMnistCommandTest {
  @Test
  void writesThePixelsIntoClassFolders(@TempDir Path tmp) throws Exception {
    assertTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist must be installed (ci/deps installs it)");
    Path out = tmp.resolve("fashion");
    String said = CliRun.of("data", "fashion-mnist", "--out", out.toString(), "--limit", "25").ok().out();
    assertEquals("wrote " + out + ": 25 Fashion-MNIST test images in 10 class folders", said.strip());
    List<String> folders;
    try (Stream<Path> s = Files.list(out)) {
      folders = s.map(p -> p.getFileName().toString()).sorted().toList();
    }
    assertEquals(List.of("0-T-shirt_top", "1-Trouser", "2-Pullover", "3-Dress", "4-Coat", "5-Sandal", "6-Shirt", "7-Sneaker",
        "8-Bag", "9-Ankle_boot"), folders);
    FashionMnist test = FashionMnist.load(FashionMnist.Split.TEST);
    for (int i = 0; i < 25; i++) {
      Path png = out.resolve(folders.get(test.label(i))).resolve(String.format("test_%05d.png", i));
      BufferedImage img = ImageIO.read(png.toFile());
      assertEquals(BufferedImage.TYPE_BYTE_GRAY, img.getType());
      byte[] px = new byte[28 * 28];
      img.getRaster().getDataElements(0, 0, 28, 28, px);
      assertArrayEquals(test.image(i), px, png.toString());
    }
    try (Stream<Path> s = Files.walk(out)) {
      assertEquals(25, s.filter(p -> p.toString().endsWith(".png")).count());
    }
    CliRun.of("data", "fashion-mnist", "--out", out.toString()).badInput("already exists");
    CliRun.of("data", "fashion-mnist", "--out", tmp.resolve("x").toString(), "--split", "val").badInput("--split val", "test or train");
    CliRun.of("data", "fashion-mnist", "--out", tmp.resolve("x").toString(), "--limit", "-3").badInput("--limit -3");
    assertTrue(Files.notExists(tmp.resolve("x")));
  }
}
