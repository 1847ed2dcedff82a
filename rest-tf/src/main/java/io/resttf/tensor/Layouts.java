package io.resttf.tensor;

/** Image batch layout conversions (PyTorch is NCHW, the graphs are NHWC). */
public final class Layouts {
  private Layouts() {}

  /** [B, C, H, W] → [B, H, W, C]. */
  public static HostTensor nchwToNhwc(HostTensor t) {
    long[] s = t.shape();
    if (s.length != 4) {
      throw new BadInputException("input must be 4-D [batch, channels, height, width], got shape " + t.shapeString());
    }
    int b = (int) s[0], c = (int) s[1], h = (int) s[2], w = (int) s[3];
    float[] src = t.toFloats();
    float[] dst = new float[src.length];
    for (int n = 0; n < b; n++)
      for (int ch = 0; ch < c; ch++) {
        int base = (n * c + ch) * h * w;
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++) dst[((n * h + y) * w + x) * c + ch] = src[base + y * w + x];
      }
    return HostTensor.ofFloats(new long[] {b, h, w, c}, dst);
  }
}
