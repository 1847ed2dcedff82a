package io.resttf.serving;

import io.resttf.util.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferUShort;
import java.awt.image.RenderedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Pictures of a semantic segmentation result, with plain Java2D and ImageIO (no TensorFlow): the class map
 * as a grayscale PNG whose pixel values are the class indices, and the image blended with the class colours
 * as mmsegmentation's {@code show_result} draws it, with a legend of the classes present.
 *
 * <p>Class maps are row-major {@code int[width * height]}. Bad input (sizes, class indices, opacity) is an
 * {@link IllegalArgumentException} whose one-line message names what is wrong. PNGs are encoded in memory
 * and written with {@link AtomicFiles#write}, so a reader never sees half a file.
 */
public final class SegmentationPictures {
  static {
    // pictures are drawn off-screen; a server or CI machine has no display
    if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
  }

  /** mmseg's default {@code opacity} of {@code show_result}. */
  public static final double DEFAULT_OPACITY = 0.5;
  /** Most classes the legend lists one by one; the rest are counted in a "... N more" row. */
  public static final int MAX_LEGEND_ROWS = 20;
  /** Smallest legend font, in pixels, so small images still get a readable legend. */
  public static final int MIN_FONT_PX = 11;
  /** Largest class count of a class-map PNG (16-bit gray). */
  public static final int MAX_CLASSES = 1 << 16;

  private static final Color LEGEND_BACKGROUND = Color.WHITE;
  private static final Color LEGEND_TEXT = new Color(0x20, 0x20, 0x20);
  private static final Color SWATCH_BORDER = new Color(0x60, 0x60, 0x60);

  private SegmentationPictures() {}

  /** A class's share of a class map: {@code pixels} of the map's pixels, {@code fraction} in [0, 1]. */
  public record ClassArea(int index, String label, long pixels, double fraction) {}

  // -------------------------------------------------------------------------------------- class map

  /**
   * Writes the class indices as a grayscale PNG of {@code width × height}: 8-bit when {@code numClasses <= 256},
   * else 16-bit; pixel value = class index (not scaled, so tools read the classes back unchanged).
   */
  public static void writeClassMap(Path png, int[] classMap, int width, int height, int numClasses) throws IOException {
    writePng(png, classMapImage(classMap, width, height, numClasses));
  }

  /** The image {@link #writeClassMap} writes: {@code TYPE_BYTE_GRAY} or {@code TYPE_USHORT_GRAY}. */
  public static BufferedImage classMapImage(int[] classMap, int width, int height, int numClasses) {
    checkSize(classMap, width, height);
    if (numClasses < 1 || numClasses > MAX_CLASSES) {
      throw new IllegalArgumentException("number of classes " + numClasses + " out of range [1, " + MAX_CLASSES + "]");
    }
    checkClasses(classMap, numClasses);
    BufferedImage img;
    if (numClasses <= 256) {
      img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
      byte[] px = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
      for (int i = 0; i < classMap.length; i++) px[i] = (byte) classMap[i];
    } else {
      img = new BufferedImage(width, height, BufferedImage.TYPE_USHORT_GRAY);
      short[] px = ((DataBufferUShort) img.getRaster().getDataBuffer()).getData();
      for (int i = 0; i < classMap.length; i++) px[i] = (short) classMap[i];
    }
    return img;
  }

  // ---------------------------------------------------------------------------------------- overlay

  /** {@link #overlay(BufferedImage, int[], SegmentationPalette, double)} at mmseg's default opacity 0.5. */
  public static BufferedImage overlay(BufferedImage image, int[] classMap, SegmentationPalette palette) {
    return overlay(image, classMap, palette, DEFAULT_OPACITY);
  }

  /**
   * {@code image} blended with each pixel's class colour, per channel {@code (int) (img * (1 - opacity) +
   * colour * opacity)} (float64, then truncated, as mmseg's {@code astype(np.uint8)}), with a legend panel to
   * its right, or below it for images at least twice as wide as high. The legend lists the classes present
   * by area, largest first (at most {@link #MAX_LEGEND_ROWS}, then "... N more"): colour swatch, name, share
   * of the image. An alpha channel is ignored, as mmcv's imread drops it.
   *
   * @param classMap row-major class indices, one per image pixel, each in [0, palette.size())
   * @param opacity in (0, 1], as mmseg asserts
   * @return a new {@code TYPE_INT_RGB} image: the image at (0, 0), the legend beside or below it
   */
  public static BufferedImage overlay(BufferedImage image, int[] classMap, SegmentationPalette palette, double opacity) {
    if (image == null) throw new IllegalArgumentException("no image");
    if (palette == null) throw new IllegalArgumentException("no palette");
    if (!(opacity > 0 && opacity <= 1)) throw new IllegalArgumentException("opacity " + opacity + " out of range (0, 1]");
    int w = image.getWidth(), h = image.getHeight();
    checkSize(classMap, w, h);
    checkClasses(classMap, palette.size());

    int[] rgb = image.getRGB(0, 0, w, h, null, 0, w);
    for (int i = 0; i < rgb.length; i++) {
      int c = palette.rgb(classMap[i]);
      rgb[i] = blend(rgb[i] >> 16, c >> 16, opacity) << 16 | blend(rgb[i] >> 8, c >> 8, opacity) << 8 | blend(rgb[i], c, opacity);
    }
    List<String> names = new ArrayList<>(palette.size());
    for (int k = 0; k < palette.size(); k++) names.add(palette.displayName(k));
    List<ClassArea> present = largest(classMap, names, palette.size());

    Legend legend = new Legend(present, palette, w, h);
    int outW = legend.below ? Math.max(w, legend.width) : w + legend.width;
    int outH = legend.below ? h + legend.height : Math.max(h, legend.height);
    BufferedImage out = new BufferedImage(outW, outH, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setColor(LEGEND_BACKGROUND);
      g.fillRect(0, 0, outW, outH);
      out.setRGB(0, 0, w, h, rgb, 0, w);
      legend.draw(g, legend.below ? 0 : w, legend.below ? h : 0);
    } finally {
      g.dispose();
    }
    return out;
  }

  /** Writes {@link #overlay(BufferedImage, int[], SegmentationPalette, double)} as a PNG. */
  public static void writeOverlay(Path png, BufferedImage image, int[] classMap, SegmentationPalette palette, double opacity)
      throws IOException {
    writePng(png, overlay(image, classMap, palette, opacity));
  }

  /** One channel of mmseg's blend: low 8 bits of {@code img} and {@code colour}, truncated like astype(uint8). */
  private static int blend(int img, int colour, double opacity) {
    return (int) ((img & 0xFF) * (1 - opacity) + (colour & 0xFF) * opacity);
  }

  // ---------------------------------------------------------------------------------------- summary

  /**
   * The {@code k} classes covering most pixels, largest first (ties: lower index first); classes absent from
   * the map are left out, so fewer than {@code k} may come back. Labels are shown without surrounding spaces.
   */
  public static List<ClassArea> largest(int[] classMap, List<String> labels, int k) {
    if (classMap == null || classMap.length == 0) throw new IllegalArgumentException("class map is empty");
    if (labels == null || labels.isEmpty()) throw new IllegalArgumentException("no class labels");
    if (k < 0) throw new IllegalArgumentException("number of classes to list " + k + " is negative");
    checkClasses(classMap, labels.size());
    long[] counts = new long[labels.size()];
    for (int c : classMap) counts[c]++;
    List<ClassArea> areas = new ArrayList<>();
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] > 0) {
        String label = labels.get(i) == null ? "class_" + i : labels.get(i).strip();
        areas.add(new ClassArea(i, label, counts[i], counts[i] / (double) classMap.length));
      }
    }
    areas.sort((a, b) -> a.pixels() != b.pixels() ? Long.compare(b.pixels(), a.pixels()) : Integer.compare(a.index(), b.index()));
    return List.copyOf(areas.subList(0, Math.min(k, areas.size())));
  }

  /** "wall 41.2 %, floor 20.3 %, ceiling 9.0 %" (one decimal, a dot whatever the locale). */
  public static String summaryLine(List<ClassArea> areas) {
    return areas.stream().map(a -> a.label() + " " + percent(a.fraction())).collect(Collectors.joining(", "));
  }

  private static String percent(double fraction) {
    return String.format(Locale.ROOT, "%.1f %%", fraction * 100);
  }

  // ----------------------------------------------------------------------------------------- legend

  /** The legend's rows, font and size; drawn after the output image is sized around it. */
  private static final class Legend {
    final List<ClassArea> rows;
    final int[] colours;
    final int more; // classes present but not listed
    final boolean below;
    final Font font;
    final int margin, gap, swatch, rowHeight, ascent, nameWidth, percentWidth, columnWidth;
    final int columns, rowsPerColumn, width, height;

    Legend(List<ClassArea> present, SegmentationPalette palette, int imageWidth, int imageHeight) {
      this.rows = present.subList(0, Math.min(MAX_LEGEND_ROWS, present.size()));
      this.more = present.size() - rows.size();
      this.colours = rows.stream().mapToInt(a -> palette.rgb(a.index())).toArray();
      this.below = imageWidth >= 2 * imageHeight; // a panel beside a wide image would waste most of its height
      // ~40 rows of text would fill the image height: large enough to read, small enough to fit 20 rows
      int fontPx = Math.max(MIN_FONT_PX, Math.round(imageHeight / 40f));
      this.font = new Font(Font.SANS_SERIF, Font.PLAIN, fontPx);
      FontMetrics fm = metrics(font);
      this.margin = fontPx;
      this.gap = Math.max(4, fontPx / 2);
      this.swatch = fm.getAscent();
      this.rowHeight = fm.getHeight() + fontPx / 3;
      this.ascent = fm.getAscent();
      int names = 0, percents = 0;
      for (ClassArea a : rows) {
        names = Math.max(names, fm.stringWidth(a.label()));
        percents = Math.max(percents, fm.stringWidth(percent(a.fraction())));
      }
      this.nameWidth = Math.max(names, more > 0 ? fm.stringWidth(moreText()) - swatch - gap : 0);
      this.percentWidth = percents;
      this.columnWidth = swatch + gap + nameWidth + 2 * gap + percentWidth;
      int lines = rows.size() + (more > 0 ? 1 : 0);
      // below a wide image the rows flow into as many columns as its width holds
      this.columns = below ? Math.max(1, Math.min(lines, (imageWidth - margin) / (columnWidth + margin))) : 1;
      this.rowsPerColumn = (lines + columns - 1) / columns;
      this.width = margin + columns * (columnWidth + margin);
      this.height = 2 * margin + rowsPerColumn * rowHeight;
    }

    String moreText() {
      return "... " + more + " more";
    }

    void draw(Graphics2D g, int x0, int y0) {
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setFont(font);
      FontMetrics fm = g.getFontMetrics();
      int lines = rows.size() + (more > 0 ? 1 : 0);
      for (int line = 0; line < lines; line++) {
        int x = x0 + margin + (line / rowsPerColumn) * (columnWidth + margin);
        int y = y0 + margin + (line % rowsPerColumn) * rowHeight;
        int baseline = y + ascent;
        if (line == rows.size()) {
          g.setColor(LEGEND_TEXT);
          g.drawString(moreText(), x, baseline);
          continue;
        }
        ClassArea a = rows.get(line);
        g.setColor(new Color(colours[line]));
        g.fillRect(x, y + 1, swatch, swatch);
        g.setColor(SWATCH_BORDER);
        g.setStroke(new BasicStroke(1));
        g.drawRect(x, y + 1, swatch - 1, swatch - 1);
        g.setColor(LEGEND_TEXT);
        g.drawString(a.label(), x + swatch + gap, baseline);
        String pct = percent(a.fraction());
        g.drawString(pct, x + columnWidth - fm.stringWidth(pct), baseline);
      }
    }

    private static FontMetrics metrics(Font font) {
      BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
      Graphics2D g = scratch.createGraphics();
      try {
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        return g.getFontMetrics(font);
      } finally {
        g.dispose();
      }
    }
  }

  // ------------------------------------------------------------------------------------------- PNGs

  /** {@code image} as PNG bytes, encoded in memory (no ImageIO cache file). */
  public static byte[] encodePng(RenderedImage image) throws IOException {
    Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
    if (!writers.hasNext()) throw new IOException("no PNG writer in this Java runtime");
    ImageWriter writer = writers.next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.write(image);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /** Encodes, then writes atomically (creating missing parent directories). */
  private static void writePng(Path png, RenderedImage image) throws IOException {
    byte[] bytes = encodePng(image);
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) Files.createDirectories(parent);
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    AtomicFiles.write(png, ch -> {
      while (buf.hasRemaining()) ch.write(buf);
    });
  }

  // ------------------------------------------------------------------------------------------ checks

  private static void checkSize(int[] classMap, int width, int height) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("image size " + width + "x" + height + " is not positive");
    }
    if (classMap == null) throw new IllegalArgumentException("no class map");
    if ((long) width * height != classMap.length) {
      throw new IllegalArgumentException("class map has " + classMap.length + " values, expected " + width + "x" + height
          + " = " + (long) width * height);
    }
  }

  private static void checkClasses(int[] classMap, int numClasses) {
    for (int i = 0; i < classMap.length; i++) {
      if (classMap[i] < 0 || classMap[i] >= numClasses) {
        throw new IllegalArgumentException("class index " + classMap[i] + " at pixel " + i + " out of range [0, "
            + numClasses + ")");
      }
    }
  }
}
