package io.resttf.model;

/**
 * Multiply-accumulates of one forward pass, counted as the papers (and fvcore) count them: convolutions,
 * linear layers and the two attention products; norms, activations and softmax are left out. At 224×224
 * this gives the ResTv2 paper's figures (T 4.1 G … L 13.8 G); for ResTv1 it is ~8 % above the ResT
 * paper's (its stem's stride-1 conv at 112×112 alone is 0.12 G). Two FLOPs per MAC give the arithmetic
 * rate a benchmark achieves.
 */
public final class Flops {
  private Flops() {}

  /** MACs for one {@code height}×{@code width} image. */
  public static long macs(RestConfig c, int height, int width) {
    long total = 0;
    int h = height / 2, w = width / 2;
    int c0 = c.dim(0), hidden = c0 / 2;
    total += conv(h, w, 3, c.inChans(), hidden, 1); // stem conv 1 (stride 2)
    if (c.family() == Family.V1) {
      total += conv(h, w, 3, hidden, hidden, 1);
      h /= 2;
      w /= 2;
      total += conv(h, w, 3, hidden, c0, 1);
    } else {
      h /= 2;
      w /= 2;
      total += conv(h, w, 3, hidden, c0, 1) + conv(h, w, 1, c0, c0, 1);
    }
    total += conv(h, w, 3, c0, c0, c0); // PA
    for (int s = 0; s < RestConfig.NUM_STAGES; s++) {
      int dim = c.dim(s);
      if (s > 0) {
        h /= 2;
        w /= 2;
        total += conv(h, w, 3, c.dim(s - 1), dim, 1) + conv(h, w, 3, dim, dim, dim);
      }
      long n = (long) h * w;
      int sr = c.srRatio(s);
      long m = (long) (h / sr) * (w / sr);
      long block = n * dim * dim * 2 // q, proj
          + m * dim * 2L * dim // kv
          + 2 * n * m * dim // q·kᵀ, attn·v
          + 2 * n * dim * (long) c.mlpHidden(s); // mlp
      if (sr > 1) block += conv(h / sr, w / sr, sr + 1, dim, dim, dim);
      if (c.headInteraction(s)) block += n * m * c.heads(s) * (long) c.heads(s);
      if (c.family() == Family.V2) block += conv(h / sr, w / sr, 3, dim, dim * sr * sr, dim);
      total += block * c.depth(s);
    }
    if (c.numClasses() > 0) total += (long) c.dim(RestConfig.NUM_STAGES - 1) * c.numClasses();
    return total;
  }

  private static long conv(int outH, int outW, int k, int in, int out, int groups) {
    return (long) outH * outW * k * k * (in / groups) * out;
  }
}
