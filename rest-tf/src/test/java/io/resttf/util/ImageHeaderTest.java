package io.resttf.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.testing.TestImages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageHeaderTest {

  @ParameterizedTest
  @ValueSource(strings = {"png", "jpg", "gif", "bmp"})
  void readsTheDimensionsOfARealImage(String format) {
    ImageHeader h = ImageHeader.read(TestImages.encoded(format, 70, 45)).orElseThrow();
    assertEquals(70, h.width(), format);
    assertEquals(45, h.height(), format);
    assertEquals(format.equals("jpg") ? "JPEG" : format.toUpperCase(), h.format());
  }

  @ParameterizedTest
  @ValueSource(strings = {"png", "jpg", "gif", "bmp"})
  void readsHugeDeclaredDimensionsOfACraftedHeader(String format) {
    byte[] bomb = TestImages.withDimensions(TestImages.encoded(format, 16, 16), 60000, 50000);
    ImageHeader h = ImageHeader.read(bomb).orElseThrow();
    assertEquals(60000, h.width(), format);
    assertEquals(50000, h.height(), format);
    BadInputException e = assertThrows(BadInputException.class, () -> ImageHeader.check("bomb." + format, bomb, ImageHeader.DEFAULT_MAX_PIXELS));
    assertEquals("bomb." + format + ": 60000×50000 = 3000 MP exceeds the limit of 40 MP (--max-pixels)", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"png", "jpg", "gif", "bmp"})
  void truncatedHeadersReadAsUnknown(String format) {
    byte[] full = TestImages.encoded(format, 20, 10);
    // Cut before the dimensions are complete (for JPEG: inside the segments before SOF0).
    int cut = switch (format) {
      case "png" -> 22;
      case "gif" -> 9;
      case "bmp" -> 24;
      default -> 30;
    };
    byte[] truncated = Arrays.copyOf(full, cut);
    assertEquals(Optional.empty(), ImageHeader.read(truncated), format);
    ImageHeader.check("cut", truncated, 1); // unknown: left to the decoder
    for (int n = 0; n < 4; n++) assertEquals(Optional.empty(), ImageHeader.read(Arrays.copyOf(full, n)), format + " " + n);
  }

  @Test
  void bigPngOfTheIssueIsRefusedFromItsHeader() {
    byte[] png = TestImages.bigPng(20000, 20000);
    assertTrue(png.length < 2_000_000, "the bomb is small: " + png.length);
    BadInputException e = assertThrows(BadInputException.class, () -> ImageHeader.check("big.png", png, ImageHeader.DEFAULT_MAX_PIXELS));
    assertEquals("big.png: 20000×20000 = 400 MP exceeds the limit of 40 MP (--max-pixels)", e.getMessage());
  }

  @Test
  void limitIsInclusiveAndAdjustable() {
    byte[] png = TestImages.encoded("png", 100, 50);
    ImageHeader.check("x", png, 5000);
    BadInputException e = assertThrows(BadInputException.class, () -> ImageHeader.check("x", png, 4999));
    assertEquals("x: 100×50 = 5000 pixels exceeds the limit of 4999 pixels (--max-pixels)", e.getMessage());
    assertThrows(BadInputException.class, () -> ImageHeader.requireValidLimit(0));
  }

  @Test
  void bmpTopDownAndCoreHeaders() {
    byte[] bmp = TestImages.encoded("bmp", 8, 6);
    byte[] topDown = TestImages.withDimensions(bmp, 8, -6);
    assertEquals(new ImageHeader("BMP", 8, 6), ImageHeader.read(topDown).orElseThrow());
    byte[] core = new byte[26];
    core[0] = 'B';
    core[1] = 'M';
    core[14] = 12; // BITMAPCOREHEADER: 16-bit dimensions
    core[18] = (byte) 0x30;
    core[19] = (byte) 0x75; // 30000
    core[20] = 2;
    assertEquals(new ImageHeader("BMP", 30000, 2), ImageHeader.read(core).orElseThrow());
  }

  @Test
  void otherBytesAreUnknown() {
    assertEquals(Optional.empty(), ImageHeader.read("hello, world, not an image".getBytes(StandardCharsets.US_ASCII)));
    assertEquals(Optional.empty(), ImageHeader.read(new byte[0]));
  }

  @Test
  void readsFromAFile(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("a.gif");
    Files.write(f, TestImages.encoded("gif", 33, 12));
    assertEquals(new ImageHeader("GIF", 33, 12), ImageHeader.read(f).orElseThrow());
    ImageHeader.check(f, 396);
    assertThrows(BadInputException.class, () -> ImageHeader.check(f, 395));
  }
}
