package io.resttf.util;

import io.resttf.tensor.BadInputException;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The dimensions an image file declares in its header (PNG IHDR, JPEG SOFn, GIF logical screen, BMP
 * info header), read without decoding a pixel, so that a decompression bomb (a small file declaring
 * a huge canvas) is refused before a decoder allocates it.
 *
 * @param format "PNG", "JPEG", "GIF" or "BMP"
 * @param width  declared width in pixels (BMP: absolute value; its sign only says bottom-up or top-down)
 * @param height declared height in pixels
 */
public record ImageHeader(String format, long width, long height) {
  /** The default largest image (width × height) that is decoded: 40 MP. */
  public static final long DEFAULT_MAX_PIXELS = 40_000_000L;

  /** width × height (cannot overflow: both are below 2^32). */
  public long pixels() {
    return width * height;
  }

  /** The header of {@code bytes}; empty when they are not a PNG, JPEG, GIF or BMP file or end before the dimensions. */
  public static Optional<ImageHeader> read(byte[] bytes) {
    try {
      return read(new ByteArrayInputStream(bytes));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The header of a file (as {@link #read(byte[])}); reads only as far as the dimensions. */
  public static Optional<ImageHeader> read(Path file) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      return read(in);
    }
  }

  /** The header at the start of {@code in}; empty for an unknown format or a header cut short. */
  public static Optional<ImageHeader> read(InputStream in) throws IOException {
    try {
      int b0 = in.read(), b1 = in.read();
      if (b0 < 0 || b1 < 0) return Optional.empty();
      if (b0 == 0x89 && b1 == 'P') return png(in);
      if (b0 == 0xFF && b1 == 0xD8) return jpeg(in);
      if (b0 == 'G' && b1 == 'I') return gif(in);
      if (b0 == 'B' && b1 == 'M') return bmp(in);
      return Optional.empty();
    } catch (EOFException e) {
      return Optional.empty();
    }
  }

  /**
   * Refuses an image whose declared size exceeds {@code maxPixels} with a one-line {@link BadInputException}
   * "NAME: W×H = 400 MP exceeds the limit of 40 MP (--max-pixels)"; an unknown or cut-short header passes
   * (the decoder rejects it with its own reason).
   */
  public static void check(String name, byte[] bytes, long maxPixels) {
    read(bytes).ifPresent(h -> h.check(name, maxPixels));
  }

  /** As {@link #check(String, byte[], long)} for a file; an unreadable file passes (its reader reports it). */
  public static void check(Path file, long maxPixels) {
    try {
      read(file).ifPresent(h -> h.check(file.toString(), maxPixels));
    } catch (IOException e) {
      // reported by the decoder that reads the file next
    }
  }

  /** {@link BadInputException} naming {@code name} when this image has more than {@code maxPixels} pixels. */
  public void check(String name, long maxPixels) {
    if (pixels() > maxPixels) throw new BadInputException(name + ": " + tooLarge(width, height, maxPixels));
  }

  /** "W×H = 400 MP exceeds the limit of 40 MP (--max-pixels)". */
  public static String tooLarge(long width, long height, long maxPixels) {
    return width + "×" + height + " = " + megapixels(width * height) + " exceeds the limit of "
        + megapixels(maxPixels) + " (--max-pixels)";
  }

  /** 40 MP, 1.5 MP, or the pixel count below 0.1 MP. */
  public static String megapixels(long pixels) {
    if (pixels % 1_000_000 == 0) return pixels / 1_000_000 + " MP";
    if (pixels >= 100_000) return String.format(Locale.ROOT, "%.1f MP", pixels / 1e6);
    return pixels + " pixels";
  }

  /** Validates a limit given by a user: at least 1. */
  public static long requireValidLimit(long maxPixels) {
    if (maxPixels < 1) throw new BadInputException("--max-pixels: must be at least 1, got " + maxPixels);
    return maxPixels;
  }

  // ---- formats (the first two bytes are read) ----

  private static Optional<ImageHeader> png(InputStream in) throws IOException {
    byte[] h = in.readNBytes(22); // rest of signature (6), IHDR length (4), "IHDR" (4), width, height
    if (h.length < 22 || h[0] != 'N' || h[1] != 'G' || h[10] != 'I' || h[11] != 'H' || h[12] != 'D' || h[13] != 'R') {
      return Optional.empty();
    }
    return Optional.of(new ImageHeader("PNG", u32be(h, 14), u32be(h, 18)));
  }

  private static Optional<ImageHeader> gif(InputStream in) throws IOException {
    byte[] h = in.readNBytes(8); // "F8?a", width, height (little-endian 16-bit)
    if (h.length < 8 || h[0] != 'F' || h[1] != '8') return Optional.empty();
    return Optional.of(new ImageHeader("GIF", u16le(h, 4), u16le(h, 6)));
  }

  private static Optional<ImageHeader> bmp(InputStream in) throws IOException {
    byte[] h = in.readNBytes(24); // file header rest (12), info header size (4), dimensions
    if (h.length < 20) return Optional.empty();
    long infoSize = u32le(h, 12);
    if (infoSize == 12) { // OS/2 BITMAPCOREHEADER: unsigned 16-bit dimensions
      return Optional.of(new ImageHeader("BMP", u16le(h, 16), u16le(h, 18)));
    }
    if (h.length < 24) return Optional.empty();
    return Optional.of(new ImageHeader("BMP", Math.abs((long) (int) u32le(h, 16)), Math.abs((long) (int) u32le(h, 20))));
  }

  /** Walks the marker segments up to the first start-of-frame (SOF0–SOF15 but DHT, JPG, DAC). */
  private static Optional<ImageHeader> jpeg(InputStream in) throws IOException {
    while (true) {
      int b = in.read();
      if (b < 0) return Optional.empty();
      if (b != 0xFF) return Optional.empty(); // not at a marker: corrupt
      int marker;
      do {
        marker = in.read(); // 0xFF fill bytes may precede a marker
      } while (marker == 0xFF);
      if (marker < 0) return Optional.empty();
      if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue; // no length
      if (marker == 0xD9 || marker == 0xDA) return Optional.empty(); // end of image / start of scan before a frame
      byte[] len = in.readNBytes(2);
      if (len.length < 2) return Optional.empty();
      int length = ((len[0] & 0xFF) << 8) | (len[1] & 0xFF);
      if (length < 2) return Optional.empty();
      boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        byte[] f = in.readNBytes(5); // precision, height, width
        if (f.length < 5) return Optional.empty();
        long height = ((f[1] & 0xFF) << 8) | (f[2] & 0xFF);
        long width = ((f[3] & 0xFF) << 8) | (f[4] & 0xFF);
        return Optional.of(new ImageHeader("JPEG", width, height));
      }
      if (!skip(in, length - 2)) return Optional.empty();
    }
  }

  /** Skips {@code n} bytes; false when the stream ends first. */
  private static boolean skip(InputStream in, long n) throws IOException {
    while (n > 0) {
      long k = in.skip(n);
      if (k <= 0) {
        if (in.read() < 0) return false;
        k = 1;
      }
      n -= k;
    }
    return true;
  }

  private static long u32be(byte[] b, int o) {
    return ((long) (b[o] & 0xFF) << 24) | ((b[o + 1] & 0xFF) << 16) | ((b[o + 2] & 0xFF) << 8) | (b[o + 3] & 0xFF);
  }

  private static long u32le(byte[] b, int o) {
    return ((long) (b[o + 3] & 0xFF) << 24) | ((b[o + 2] & 0xFF) << 16) | ((b[o + 1] & 0xFF) << 8) | (b[o] & 0xFF);
  }

  private static long u16le(byte[] b, int o) {
    return ((b[o + 1] & 0xFF) << 8) | (b[o] & 0xFF);
  }
}
