package io.resttf.testing;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import javax.imageio.ImageIO;

/** Small real images in each format, and decompression bombs: valid files that declare a huge canvas. */
public final class TestImages {
  private TestImages() {}

  /** A w×h RGB image with a gradient, encoded as {@code format} ("png", "jpg", "gif", "bmp") by javax.imageio. */
  public static byte[] encoded(String format, int w, int h) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      for (int y = 0; y < h; y++) {
        g.setColor(new Color((y * 255) / Math.max(1, h - 1), 90, 200 - (y * 150) / Math.max(1, h)));
        g.drawLine(0, y, w - 1, y);
      }
    } finally {
      g.dispose();
    }
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!ImageIO.write(img, format, out)) throw new IllegalStateException("no " + format + " writer");
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A complete, valid PNG of {@code w}×{@code h} one-bit grey pixels, all black: the rows compress to
   * almost nothing (20000×20000 is about 60 KB), while decoding it to RGB takes w·h·3 bytes.
   */
  public static byte[] bigPng(int w, int h) {
    try {
      ByteArrayOutputStream png = new ByteArrayOutputStream();
      png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
      ByteBuffer ihdr = ByteBuffer.allocate(13).order(ByteOrder.BIG_ENDIAN);
      ihdr.putInt(w).putInt(h).put((byte) 1).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
      chunk(png, "IHDR", ihdr.array());
      ByteArrayOutputStream idat = new ByteArrayOutputStream();
      byte[] row = new byte[1 + (w + 7) / 8]; // filter byte 0, then the packed bits
      try (DeflaterOutputStream z = new DeflaterOutputStream(idat, new Deflater(Deflater.BEST_COMPRESSION))) {
        for (int y = 0; y < h; y++) z.write(row);
      }
      chunk(png, "IDAT", idat.toByteArray());
      chunk(png, "IEND", new byte[0]);
      return png.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    out.write(ByteBuffer.allocate(4).putInt(data.length).array());
    out.write(t);
    out.write(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  /**
   * {@code image} (as written by {@link #encoded}) with its header's dimensions replaced by w×h: PNG IHDR
   * (CRC fixed), JPEG's first SOF, GIF's logical screen, BMP's info header. The pixel data stays small.
   */
  public static byte[] withDimensions(byte[] image, int w, int h) {
    byte[] b = image.clone();
    if ((b[0] & 0xFF) == 0x89) {
      ByteBuffer.wrap(b, 16, 8).order(ByteOrder.BIG_ENDIAN).putInt(w).putInt(h);
      CRC32 crc = new CRC32();
      crc.update(b, 12, 17);
      ByteBuffer.wrap(b, 29, 4).putInt((int) crc.getValue());
    } else if ((b[0] & 0xFF) == 0xFF) {
      int p = 2;
      while (true) {
        int marker = b[p + 1] & 0xFF;
        int len = ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
        if (marker >= 0xC0 && marker <= 0xC3) {
          ByteBuffer.wrap(b, p + 5, 4).order(ByteOrder.BIG_ENDIAN).putShort((short) h).putShort((short) w);
          break;
        }
        p += 2 + len;
      }
    } else if (b[0] == 'G') {
      ByteBuffer.wrap(b, 6, 4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) w).putShort((short) h);
    } else if (b[0] == 'B') {
      ByteBuffer.wrap(b, 18, 8).order(ByteOrder.LITTLE_ENDIAN).putInt(w).putInt(h);
    } else {
      throw new IllegalArgumentException("not an image written by TestImages.encoded");
    }
    return b;
  }
}
