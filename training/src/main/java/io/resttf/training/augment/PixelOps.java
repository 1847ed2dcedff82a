package io.resttf.training.augment;

import io.resttf.training.data.Image;

/** The image operations of {@link RandAugment}, on 8-bit HWC images (1 or 3 channels), after PIL's definitions. */
final class PixelOps {
  private PixelOps() {}

  static Image apply(String op, Image img, double arg, int[] fill) {
    return switch (op) {
      case "AutoContrast" -> autoContrast(img);
      case "Equalize" -> equalize(img);
      case "Invert" -> lut(img, v -> 255 - v);
      case "Posterize", "PosterizeIncreasing" -> posterize(img, (int) arg);
      case "Solarize", "SolarizeIncreasing" -> lut(img, v -> v < (int) arg ? v : 255 - v);
      case "SolarizeAdd" -> lut(img, v -> v < 128 ? Math.min(255, v + (int) arg) : v);
      case "Color", "ColorIncreasing" -> blend(luma(img), img, arg);
      case "Contrast", "ContrastIncreasing" -> blend(constant(img, meanLuma(img)), img, arg);
      case "Brightness", "BrightnessIncreasing" -> blend(constant(img, 0), img, arg);
      case "Sharpness", "SharpnessIncreasing" -> blend(smooth(img), img, arg);
      // PIL's affine data (a, b, c, d, e, f): output pixel (x, y) samples input (a x + b y + c, d x + e y + f)
      case "ShearX" -> affine(img, new double[] {1, arg, 0, 0, 1, 0}, fill);
      case "ShearY" -> affine(img, new double[] {1, 0, 0, arg, 1, 0}, fill);
      case "TranslateXRel" -> affine(img, new double[] {1, 0, arg * img.width(), 0, 1, 0}, fill);
      case "TranslateYRel" -> affine(img, new double[] {1, 0, 0, 0, 1, arg * img.height()}, fill);
      case "Rotate" -> affine(img, rotation(arg, img.width(), img.height()), fill);
      default -> throw new IllegalArgumentException("no RandAugment op " + op);
    };
  }

  interface IntOp {
    int at(int v);
  }

  static Image lut(Image img, IntOp f) {
    byte[] table = new byte[256];
    for (int v = 0; v < 256; v++) table[v] = (byte) f.at(v);
    byte[] src = img.pixels(), out = new byte[src.length];
    for (int i = 0; i < src.length; i++) out[i] = table[src[i] & 0xff];
    return new Image(img.width(), img.height(), img.channels(), out);
  }

  /** ImageOps.posterize: keep the top {@code bits} bits; timm leaves the image as it is from 8 bits on. */
  static Image posterize(Image img, int bits) {
    if (bits >= 8) return img;
    int mask = ~((1 << (8 - bits)) - 1) & 0xff;
    return lut(img, v -> v & mask);
  }

  /** ImageOps.autocontrast (cutoff 0), per channel: its darkest value to 0, its lightest to 255. */
  static Image autoContrast(Image img) {
    int c = img.channels();
    byte[] src = img.pixels(), out = new byte[src.length];
    for (int ch = 0; ch < c; ch++) {
      int lo = 255, hi = 0;
      for (int i = ch; i < src.length; i += c) {
        int v = src[i] & 0xff;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      int[] table = new int[256];
      if (hi <= lo) {
        for (int v = 0; v < 256; v++) table[v] = v;
      } else {
        double scale = 255.0 / (hi - lo), offset = -lo * scale;
        for (int v = 0; v < 256; v++) table[v] = Math.max(0, Math.min(255, (int) (v * scale + offset)));
      }
      for (int i = ch; i < src.length; i += c) out[i] = (byte) table[src[i] & 0xff];
    }
    return new Image(img.width(), img.height(), c, out);
  }

  /** ImageOps.equalize, per channel: PIL's lookup table from the histogram (step = (N − last bin) // 255). */
  static Image equalize(Image img) {
    int c = img.channels();
    byte[] src = img.pixels(), out = new byte[src.length];
    for (int ch = 0; ch < c; ch++) {
      int[] h = new int[256];
      for (int i = ch; i < src.length; i += c) h[src[i] & 0xff]++;
      int nonZero = 0, total = 0, last = 0;
      for (int v = 0; v < 256; v++) {
        if (h[v] > 0) {
          nonZero++;
          total += h[v];
          last = h[v];
        }
      }
      int[] table = new int[256];
      int step = nonZero <= 1 ? 0 : (total - last) / 255;
      if (step == 0) {
        for (int v = 0; v < 256; v++) table[v] = v;
      } else {
        int n = step / 2;
        for (int v = 0; v < 256; v++) {
          table[v] = Math.min(255, n / step);
          n += h[v];
        }
      }
      for (int i = ch; i < src.length; i += c) out[i] = (byte) table[src[i] & 0xff];
    }
    return new Image(img.width(), img.height(), c, out);
  }

  /** PIL's "L" of an RGB image, back in the image's mode (Color's degenerate image); a luma image is its own. */
  static Image luma(Image img) {
    if (img.channels() == 1) return img;
    byte[] src = img.pixels(), out = new byte[src.length];
    for (int i = 0; i < src.length; i += 3) {
      int l = (19595 * (src[i] & 0xff) + 38470 * (src[i + 1] & 0xff) + 7471 * (src[i + 2] & 0xff) + 0x8000) >> 16;
      out[i] = out[i + 1] = out[i + 2] = (byte) l;
    }
    return new Image(img.width(), img.height(), 3, out);
  }

  /** ImageEnhance.Contrast's mean: int(mean of the "L" image + 0.5). */
  static int meanLuma(Image img) {
    Image l = luma(img);
    long sum = 0;
    for (int i = 0; i < l.pixels().length; i += l.channels()) sum += l.pixels()[i] & 0xff;
    return (int) ((double) sum / (l.width() * l.height()) + 0.5);
  }

  static Image constant(Image img, int v) {
    byte[] out = new byte[img.pixels().length];
    java.util.Arrays.fill(out, (byte) v);
    return new Image(img.width(), img.height(), img.channels(), out);
  }

  /** ImageFilter.SMOOTH (3×3: 1 1 1 / 1 5 1 / 1 1 1, ÷13, rounded), the border rows and columns kept. */
  static Image smooth(Image img) {
    int w = img.width(), h = img.height(), c = img.channels();
    byte[] src = img.pixels(), out = src.clone();
    for (int y = 1; y < h - 1; y++) {
      for (int x = 1; x < w - 1; x++) {
        for (int ch = 0; ch < c; ch++) {
          int s = 0;
          for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) s += (src[((y + dy) * w + x + dx) * c + ch] & 0xff) * (dx == 0 && dy == 0 ? 5 : 1);
          }
          out[(y * w + x) * c + ch] = (byte) Math.min(255, (int) (s / 13.0 + 0.5));
        }
      }
    }
    return new Image(w, h, c, out);
  }

  /** Image.blend(degenerate, img, f): degenerate + f·(img − degenerate), truncated, clipped when extrapolating. */
  static Image blend(Image degenerate, Image img, double f) {
    byte[] a = degenerate.pixels(), b = img.pixels(), out = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      double v = (a[i] & 0xff) + f * ((b[i] & 0xff) - (a[i] & 0xff));
      out[i] = (byte) (v <= 0 ? 0 : v >= 255 ? 255 : (int) v);
    }
    return new Image(img.width(), img.height(), img.channels(), out);
  }

  /** PIL's Image.rotate(degrees) matrix: about the centre, counter-clockwise for positive degrees. */
  static double[] rotation(double degrees, int w, int h) {
    double angle = -Math.toRadians(degrees % 360.0);
    double cos = Math.cos(angle), sin = Math.sin(angle);
    double[] m = {cos, sin, 0, -sin, cos, 0};
    double cx = w / 2.0, cy = h / 2.0;
    m[2] = m[0] * -cx + m[1] * -cy + cx;
    m[5] = m[3] * -cx + m[4] * -cy + cy;
    return m;
  }

  /**
   * The affine transform on pixel centres: output (x + ½, y + ½) samples input (a, b, c, d, e, f)·(x + ½, y + ½, 1);
   * a point outside the input gets {@code fill}; inside, Keys bicubic (a = −0.5) over the 4×4 neighbours (indices
   * clamped to the image), rounded and clipped to 8 bits.
   */
  static Image affine(Image img, double[] m, int[] fill) {
    int w = img.width(), h = img.height(), c = img.channels();
    byte[] src = img.pixels(), out = new byte[src.length];
    double[] wx = new double[4], wy = new double[4];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double u = m[0] * (x + 0.5) + m[1] * (y + 0.5) + m[2], v = m[3] * (x + 0.5) + m[4] * (y + 0.5) + m[5];
        int o = (y * w + x) * c;
        if (u < 0 || u >= w || v < 0 || v >= h) {
          for (int ch = 0; ch < c; ch++) out[o + ch] = (byte) fill[Math.min(ch, fill.length - 1)];
          continue;
        }
        double sx = u - 0.5, sy = v - 0.5;
        int x0 = (int) Math.floor(sx), y0 = (int) Math.floor(sy);
        keys(sx - x0, wx);
        keys(sy - y0, wy);
        for (int ch = 0; ch < c; ch++) {
          double s = 0;
          for (int j = 0; j < 4; j++) {
            int yy = Math.max(0, Math.min(h - 1, y0 - 1 + j));
            double row = 0;
            for (int i = 0; i < 4; i++) {
              int xx = Math.max(0, Math.min(w - 1, x0 - 1 + i));
              row += wx[i] * (src[(yy * w + xx) * c + ch] & 0xff);
            }
            s += wy[j] * row;
          }
          long r = Math.round(s);
          out[o + ch] = (byte) (r < 0 ? 0 : r > 255 ? 255 : r);
        }
      }
    }
    return new Image(w, h, c, out);
  }

  /** Keys cubic weights (a = −0.5) of the 4 taps around a point at fraction {@code t} past tap 1. */
  private static void keys(double t, double[] out) {
    double a = -0.5;
    double[] d = {1 + t, t, 1 - t, 2 - t};
    for (int i = 0; i < 4; i++) {
      double x = d[i];
      out[i] = x <= 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? ((a * x - 5 * a) * x + 8 * a) * x - 4 * a : 0;
    }
  }
}
