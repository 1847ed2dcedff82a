package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.serving.SegmentationPictures.ClassArea;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Class-map PNGs read back unchanged, mmseg's blend, the legend's order and size, and one-line errors. */
class SegmentationPicturesTest {
  private static final SegmentationPalette ADE = SegmentationPalette.ade20k();

  @Test
  void classMapPngHoldsTheClassIndices8Bit(@TempDir Path dir) throws IOException {
    int w = 7, h = 5;
    int[] map = new int[w * h];
    for (int i = 0; i < map.length; i++) map[i] = (i * 37) % 150;
    map[0] = 149;
    Path png = dir.resolve("sub/classes.png");
    SegmentationPictures.writeClassMap(png, map, w, h, 150);

    BufferedImage back = ImageIO.read(png.toFile());
    assertEquals(w, back.getWidth());
    assertEquals(h, back.getHeight());
    assertEquals(8, back.getColorModel().getComponentSize(0));
    assertEquals(1, back.getRaster().getNumBands());
    assertArrayEquals(map, back.getRaster().getSamples(0, 0, w, h, 0, (int[]) null));
    assertNoTemporaryFiles(png.getParent());
  }

  @Test
  void classMapPngIs16BitAbove256Classes(@TempDir Path dir) throws IOException {
    int w = 4, h = 3, classes = 1000;
    int[] map = {0, 1, 255, 256, 257, 511, 998, 999, 42, 300, 700, 128};
    Path png = dir.resolve("classes16.png");
    SegmentationPictures.writeClassMap(png, map, w, h, classes);

    BufferedImage back = ImageIO.read(png.toFile());
    assertEquals(BufferedImage.TYPE_USHORT_GRAY, back.getType());
    assertEquals(w, back.getWidth());
    assertEquals(h, back.getHeight());
    assertArrayEquals(map, back.getRaster().getSamples(0, 0, w, h, 0, (int[]) null));
    // 256 classes still fit 8 bits
    assertEquals(BufferedImage.TYPE_BYTE_GRAY, SegmentationPictures.classMapImage(new int[] {255}, 1, 1, 256).getType());
  }

  @Test
  void overlayBlendsLikeMmseg() {
    int w = 64, h = 48;
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    image.setRGB(3, 2, 0x0AC84D); // (10, 200, 77)
    int[] map = new int[w * h]; // wall (120, 120, 120) everywhere
    map[2 * w + 5] = 149; // flag (92, 0, 255) at (5, 2); the image is black there

    BufferedImage out = SegmentationPictures.overlay(image, map, ADE);
    // (int) (img * 0.5 + colour * 0.5): 65, 160, 98.5 -> 98 (truncated, as numpy's astype(uint8))
    assertArrayEquals(new int[] {65, 160, 98}, rgb(out, 3, 2));
    assertArrayEquals(new int[] {46, 0, 127}, rgb(out, 5, 2));
    assertArrayEquals(new int[] {60, 60, 60}, rgb(out, 0, 0));

    BufferedImage out3 = SegmentationPictures.overlay(image, map, ADE, 0.3);
    int[] expected = new int[3];
    int[] img = {10, 200, 77};
    for (int c = 0; c < 3; c++) expected[c] = (int) (img[c] * (1 - 0.3) + 120 * 0.3);
    assertArrayEquals(expected, rgb(out3, 3, 2));
    // opacity 1: the class colours alone
    assertArrayEquals(new int[] {92, 0, 255}, rgb(SegmentationPictures.overlay(image, map, ADE, 1.0), 5, 2));
  }

  @Test
  void overlayIsTheImageSizePlusALegendBesideOrBelow(@TempDir Path dir) throws IOException {
    // tall enough image: legend to the right, height unchanged when the legend fits
    int w = 200, h = 400;
    int[] map = stripes(w, h, 5);
    Path png = dir.resolve("overlay.png");
    SegmentationPictures.writeOverlay(png, new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR), map, ADE, 0.5);
    BufferedImage back = ImageIO.read(png.toFile());
    assertTrue(back.getWidth() > w, "legend to the right: " + back.getWidth());
    assertEquals(h, back.getHeight());
    assertNoTemporaryFiles(dir);

    // wide image: legend below, width unchanged
    w = 600;
    h = 100;
    BufferedImage wide = SegmentationPictures.overlay(new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB), stripes(w, h, 3), ADE);
    assertEquals(w, wide.getWidth());
    assertTrue(wide.getHeight() > h, "legend below: " + wide.getHeight());

    // tiny image: the legend (at least 11 px text) is taller than the image
    BufferedImage tiny = SegmentationPictures.overlay(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), stripes(8, 8, 8), ADE);
    assertTrue(tiny.getWidth() > 8 && tiny.getHeight() > 8 * 8, tiny.getWidth() + "x" + tiny.getHeight());
  }

  @Test
  void legendListsTwentyClassesThenCountsTheRest() {
    int w = 300, h = 300;
    BufferedImage twenty = SegmentationPictures.overlay(new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB), stripes(w, h, 20), ADE);
    BufferedImage fifty = SegmentationPictures.overlay(new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB), stripes(w, h, 50), ADE);
    // the 21st line ("... 30 more") makes the legend one row taller than the 20 classes need, no more
    assertTrue(fifty.getHeight() > twenty.getHeight(), fifty.getHeight() + " vs " + twenty.getHeight());
    BufferedImage hundred = SegmentationPictures.overlay(new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB), stripes(w, h, 100), ADE);
    assertEquals(fifty.getHeight(), hundred.getHeight());
  }

  @Test
  void largestListsClassesByAreaWithShares() {
    List<String> labels = List.of("wall", "bed ", "floor", "sky");
    int[] map = new int[20];
    // floor 9, wall 6, bed 3, sky 2
    for (int i = 0; i < 9; i++) map[i] = 2;
    for (int i = 9; i < 15; i++) map[i] = 0;
    map[15] = map[16] = map[17] = 1;
    map[18] = map[19] = 3;
    List<ClassArea> all = SegmentationPictures.largest(map, labels, 10);
    assertEquals(List.of(2, 0, 1, 3), all.stream().map(ClassArea::index).toList());
    assertEquals(new ClassArea(2, "floor", 9, 0.45), all.get(0));
    assertEquals("bed", all.get(2).label(), "shown without upstream's trailing space");
    assertEquals(List.of(2, 0), SegmentationPictures.largest(map, labels, 2).stream().map(ClassArea::index).toList());
    assertEquals(List.of(), SegmentationPictures.largest(map, labels, 0));
    assertEquals("floor 45.0 %, wall 30.0 %, bed 15.0 %, sky 10.0 %", SegmentationPictures.summaryLine(all));

    // equal areas: lower class index first; absent classes are left out
    int[] tie = {3, 1, 3, 1};
    assertEquals(List.of(1, 3), SegmentationPictures.largest(tie, labels, 4).stream().map(ClassArea::index).toList());
    assertEquals("", SegmentationPictures.summaryLine(List.of()));
  }

  @Test
  void summaryLineRoundsToOneDecimal() {
    List<ClassArea> areas = List.of(new ClassArea(0, "wall", 412, 0.41249), new ClassArea(3, "floor", 203, 0.2030),
        new ClassArea(5, "ceiling", 90, 0.09));
    assertEquals("wall 41.2 %, floor 20.3 %, ceiling 9.0 %", SegmentationPictures.summaryLine(areas));
  }

  @Test
  void badInputNamesWhatIsWrong(@TempDir Path dir) {
    BufferedImage img = new BufferedImage(4, 3, BufferedImage.TYPE_INT_RGB);
    int[] ok = new int[12];
    Path png = dir.resolve("x.png");
    expect("class index 150 at pixel 5 out of range [0, 150)", () -> {
      int[] map = ok.clone();
      map[5] = 150;
      SegmentationPictures.overlay(img, map, ADE);
    });
    expect("class index -1 at pixel 0 out of range [0, 10)", () -> SegmentationPictures.writeClassMap(png,
        new int[] {-1, 0, 0, 0}, 2, 2, 10));
    expect("class map has 11 values, expected 4x3 = 12", () -> SegmentationPictures.overlay(img, new int[11], ADE));
    expect("class map has 12 values, expected 3x3 = 9", () -> SegmentationPictures.writeClassMap(png, ok, 3, 3, 10));
    expect("image size 0x12 is not positive", () -> SegmentationPictures.writeClassMap(png, ok, 0, 12, 10));
    expect("image size 4x-3 is not positive", () -> SegmentationPictures.writeClassMap(png, ok, 4, -3, 10));
    expect("number of classes 0 out of range [1, 65536]", () -> SegmentationPictures.writeClassMap(png, ok, 4, 3, 0));
    expect("number of classes 65537 out of range", () -> SegmentationPictures.writeClassMap(png, ok, 4, 3, 65537));
    expect("opacity 0.0 out of range (0, 1]", () -> SegmentationPictures.overlay(img, ok, ADE, 0));
    expect("opacity 1.5 out of range (0, 1]", () -> SegmentationPictures.overlay(img, ok, ADE, 1.5));
    expect("opacity NaN out of range (0, 1]", () -> SegmentationPictures.overlay(img, ok, ADE, Double.NaN));
    expect("class index 4 at pixel 0 out of range [0, 4)", () -> SegmentationPictures.largest(new int[] {4},
        List.of("a", "b", "c", "d"), 3));
    expect("is negative", () -> SegmentationPictures.largest(ok, List.of("a"), -1));
    expect("class map is empty", () -> SegmentationPictures.largest(new int[0], List.of("a"), 1));
    assertFalse(Files.exists(png), "nothing written on bad input");
  }

  /**
   * A picture to look at once: a synthetic street scene with ADE20K classes, written to
   * target/segmentation-pictures-demo/ (not committed).
   */
  @Test
  void writesADemoPicture() throws IOException {
    int w = 480, h = 320;
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    int[] map = new int[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.setRGB(x, y, (x * 255 / w) << 16 | (y * 255 / h) << 8 | 128);
        int c;
        if (y < h / 3) c = 2; // sky
        else if (y > 2 * h / 3) c = 6; // road
        else if (x < w / 2) c = 1; // building
        else c = 4; // tree
        if (Math.hypot(x - 0.75 * w, y - 0.55 * h) < h / 10.0) c = 12; // person
        if (x > 20 && x < 60 && y > h / 2 && y < 2 * h / 3 + 30) c = 20; // car
        if (y > 2 * h / 3 && y < 2 * h / 3 + 15 && x % 40 < 20) c = 11; // sidewalk dashes
        map[y * w + x] = c;
      }
    }
    Path out = Path.of("target", "segmentation-pictures-demo");
    SegmentationPictures.writeOverlay(out.resolve("overlay.png"), image, map, ADE, SegmentationPictures.DEFAULT_OPACITY);
    SegmentationPictures.writeClassMap(out.resolve("classes.png"), map, w, h, ADE.size());
    String summary = SegmentationPictures.summaryLine(SegmentationPictures.largest(map, ADE.names(), 3));
    Files.writeString(out.resolve("summary.txt"), summary + "\n");
    assertTrue(summary.startsWith("sky 33."), summary);

    // a wide one, legend below, with more classes than the legend lists
    int ww = 900, wh = 200;
    SegmentationPictures.writeOverlay(out.resolve("overlay-wide.png"), new BufferedImage(ww, wh, BufferedImage.TYPE_INT_RGB),
        stripes(ww, wh, 30), ADE, 0.5);
    assertEquals(ww, ImageIO.read(out.resolve("overlay-wide.png").toFile()).getWidth());
  }

  /** {@code classes} vertical stripes of decreasing width (class i gets more pixels than class i + 1). */
  private static int[] stripes(int w, int h, int classes) {
    List<Integer> column = new ArrayList<>();
    int total = classes * (classes + 1) / 2;
    for (int c = 0; c < classes; c++) {
      int width = Math.max(1, Math.round((classes - c) * (float) w / total));
      for (int i = 0; i < width && column.size() < w; i++) column.add(c);
    }
    while (column.size() < w) column.add(0);
    int[] map = new int[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) map[y * w + x] = column.get(x);
    }
    return map;
  }

  private static int[] rgb(BufferedImage img, int x, int y) {
    int p = img.getRGB(x, y);
    return new int[] {(p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF};
  }

  private static void expect(String message, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(message), "message: " + e.getMessage() + ", expected: " + message);
  }

  private static void assertNoTemporaryFiles(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList());
    }
  }
}
