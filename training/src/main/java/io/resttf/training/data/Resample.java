package io.resttf.training.data;

/**
 * PIL's {@code Image.resize(size, BICUBIC, box)} on 8-bit images: separable Keys cubic (a = −0.5) whose
 * support widens with the downscaling factor (antialiasing), horizontal pass then vertical pass, each
 * rounded and clamped to 0..255.
 */
final class Resample {
  private Resample() {}

  static Image resize(Image img, int outW, int outH, double x0, double y0, double x1, double y1) {
    int c = img.channels();
    Weights wx = weights(img.width(), outW, x0, x1);
    Weights wy = weights(img.height(), outH, y0, y1);
    // horizontal: rows ymin..ymax needed by the vertical pass
    int rowLo = wy.min[0], rowHi = wy.min[outH - 1] + wy.len[outH - 1];
    int rows = rowHi - rowLo;
    byte[] mid = new byte[rows * outW * c];
    byte[] src = img.pixels();
    for (int y = 0; y < rows; y++) {
      int sy = y + rowLo;
      for (int x = 0; x < outW; x++) {
        int lo = wx.min[x], n = wx.len[x];
        for (int ch = 0; ch < c; ch++) {
          double acc = 0;
          for (int k = 0; k < n; k++) acc += (src[(sy * img.width() + lo + k) * c + ch] & 0xff) * wx.w[x][k];
          mid[(y * outW + x) * c + ch] = clamp(acc);
        }
      }
    }
    byte[] out = new byte[outW * outH * c];
    for (int y = 0; y < outH; y++) {
      int lo = wy.min[y] - rowLo, n = wy.len[y];
      for (int x = 0; x < outW; x++) {
        for (int ch = 0; ch < c; ch++) {
          double acc = 0;
          for (int k = 0; k < n; k++) acc += (mid[((lo + k) * outW + x) * c + ch] & 0xff) * wy.w[y][k];
          out[(y * outW + x) * c + ch] = clamp(acc);
        }
      }
    }
    return new Image(outW, outH, c, out);
  }

  private static byte clamp(double v) {
    long r = (long) Math.floor(v + 0.5);
    return (byte) (r < 0 ? 0 : r > 255 ? 255 : r);
  }

  private record Weights(int[] min, int[] len, double[][] w) {}

  /** PIL's precompute_coeffs for the bicubic filter (support 2). */
  private static Weights weights(int inSize, int outSize, double in0, double in1) {
    double scale = (in1 - in0) / outSize;
    double filterScale = Math.max(scale, 1.0);
    double support = 2.0 * filterScale;
    int[] min = new int[outSize], len = new int[outSize];
    double[][] w = new double[outSize][];
    for (int xx = 0; xx < outSize; xx++) {
      double center = in0 + (xx + 0.5) * scale;
      double ss = 1.0 / filterScale;
      int xmin = (int) Math.max((long) (center - support + 0.5), 0);
      int xmax = (int) Math.min((long) (center + support + 0.5), inSize) - xmin;
      if (xmax < 1) {
        xmin = Math.min(Math.max(xmin, 0), inSize - 1);
        xmax = 1;
      }
      double[] k = new double[xmax];
      double total = 0;
      for (int x = 0; x < xmax; x++) {
        double v = cubic((x + xmin - center + 0.5) * ss);
        k[x] = v;
        total += v;
      }
      if (total != 0) for (int x = 0; x < xmax; x++) k[x] /= total;
      min[xx] = xmin;
      len[xx] = xmax;
      w[xx] = k;
    }
    return new Weights(min, len, w);
  }

  private static double cubic(double x) {
    double a = -0.5;
    x = Math.abs(x);
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
  }
}
