package io.resttf.model;

/**
 * Multiply-accumulates of one forward pass, counted as the papers (and fvcore) count them: convolutions,
 * linear layers and the two attention products; norms, activations and softmax are left out. At 224×224
 * this gives the ResTv2 paper's figures (T 4.1 G … L 13.8 G); for ResTv1 it is ~8 % above the ResT
 * paper's (its stem's stride-1 conv at 112×112 alone is 0.12 G). Two FLOPs per MAC give the arithmetic
 * rate a benchmark achieves.
 *
 * <p>{@link #breakdown} splits them by kind, as the ResTv2 paper's Table 4 discusses window attention:
 * the attention products q·kᵀ and attn·v (what windows cut), linear layers, convolutions (the head
 * interaction's 1×1 conv over the attention map included), and other work the options add (pooling
 * reductions, bilinear taps). Windowed blocks are counted on their padded grid, window by window.
 */
public final class Flops {
  private Flops() {}

  /** MACs by kind for one image. */
  public record Macs(long attention, long linear, long conv, long other) {
    public long total() {
      return Math.addExact(Math.addExact(attention, linear), Math.addExact(conv, other));
    }
  }

  /** MACs for one {@code height}×{@code width} image. */
  public static long macs(RestConfig c, int height, int width) {
    return breakdown(c, height, width).total();
  }

  /** MACs by kind for one {@code height}×{@code width} image. */
  public static Macs breakdown(RestConfig c, int height, int width) {
    long attention = 0, linear = 0, conv = 0, other = 0;
    int h = height / 2, w = width / 2;
    int c0 = c.dim(0), hidden = c0 / 2;
    conv += conv(h, w, 3, c.inChans(), hidden, 1); // stem conv 1 (stride 2)
    if (c.family() == Family.V1) {
      conv += conv(h, w, 3, hidden, hidden, 1);
      h /= 2;
      w /= 2;
      conv += conv(h, w, 3, hidden, c0, 1);
    } else {
      h /= 2;
      w /= 2;
      conv += conv(h, w, 3, hidden, c0, 1) + conv(h, w, 1, c0, c0, 1);
    }
    conv += positionEncoding(c, h, w, c0);
    for (int s = 0; s < RestConfig.NUM_STAGES; s++) {
      int dim = c.dim(s), sr = c.srRatio(s), heads = c.heads(s);
      if (s > 0) {
        h /= 2;
        w /= 2;
        conv += conv(h, w, 3, c.dim(s - 1), dim, 1) + positionEncoding(c, h, w, dim);
      }
      for (int i = 0; i < c.depth(s); i++) {
        // the attention's grid: windows (side ws, or the whole axis where shorter) on the padded map
        int wh = h, ww = w;
        if (c.windowed(s, i)) {
          wh = Math.min(h, c.windowSize(s));
          ww = Math.min(w, c.windowSize(s));
        }
        long windows = (long) ceilDiv(h, wh) * ceilDiv(w, ww);
        long n = (long) wh * ww, m = (long) (wh / sr) * (ww / sr); // per window
        long tokens = windows * n, reduced = windows * m;
        if (c.attention()) {
          linear += tokens * dim * (long) dim + reduced * dim * 2L * dim; // q, kv
          attention += windows * 2 * n * m * dim; // q·kᵀ, attn·v
          if (c.headInteraction(s)) conv += windows * n * m * heads * (long) heads;
        } else if (c.upsampleTarget() == DesignSpace.UpsampleTarget.V) {
          linear += reduced * dim * (long) dim; // v
        }
        if (sr > 1) {
          long taps = reduced * (sr + 1) * (sr + 1) * (long) dim;
          if (c.reduction() == DesignSpace.Reduction.DWCONV) conv += taps;
          else other += taps;
        }
        switch (c.upsample()) {
          case PIXEL_SHUFFLE -> conv += reduced * 9L * dim * sr * sr;
          case NEAREST -> conv += reduced * 9L * dim;
          case BILINEAR -> {
            conv += reduced * 9L * dim;
            if (sr > 1) other += tokens * 4L * dim; // four taps per output
          }
          case NONE -> { }
        }
        linear += tokens * dim * (long) dim; // proj
        linear += 2L * h * w * dim * (long) c.mlpHidden(s); // mlp
      }
      if (c.windowStyle() == DesignSpace.WindowStyle.CWIN) conv += conv(h, w, 3, dim, dim, dim);
    }
    if (c.numClasses() > 0) linear += (long) c.dim(RestConfig.NUM_STAGES - 1) * c.numClasses();
    return new Macs(attention, linear, conv, other);
  }

  private static long positionEncoding(RestConfig c, int h, int w, int dim) {
    return c.positionEncoding() == DesignSpace.PositionEncoding.NONE ? 0 : conv(h, w, 3, dim, dim, dim);
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  private static long conv(int outH, int outW, int k, int in, int out, int groups) {
    return (long) outH * outW * k * k * (in / groups) * out;
  }
}
