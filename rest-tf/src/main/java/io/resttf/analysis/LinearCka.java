package io.resttf.analysis;

import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Linear CKA (Kornblith et al., 2019) between the attention branch and the upsample branch of every block
 * (the ResTv2 paper's Figure 4): with X, Y the two branches' features, one row per token of every image
 * (samples) and one column per channel, centred over the samples,
 * CKA = ‖XᵀY‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F). 1 = the same representation up to rotation and scale, 0 = unrelated.
 * Streaming: per block the channel sums and the three C×C products are accumulated in double, so any
 * number of images fits in C² memory.
 */
public final class LinearCka {
  private static final class Moments {
    final int c;
    long n;
    final double[] sx, sy, xx, yy, xy;

    Moments(int c) {
      this.c = c;
      sx = new double[c];
      sy = new double[c];
      xx = new double[c * c];
      yy = new double[c * c];
      xy = new double[c * c];
    }
  }

  private final Map<String, Moments> blocks = new LinkedHashMap<>();

  /** Adds one batch's branches; blocks without both branches (the ConvNet variant, upsample none) are skipped. */
  public void add(Map<String, RestModel.BlockBranches> batch) {
    for (Map.Entry<String, RestModel.BlockBranches> e : batch.entrySet()) {
      HostTensor a = e.getValue().attention(), u = e.getValue().upsample();
      if (a == null || u == null) continue;
      int c = (int) a.shape()[3];
      Moments m = blocks.computeIfAbsent(e.getKey(), k -> new Moments(c));
      float[] x = a.toFloats(), y = u.toFloats();
      int rows = x.length / c;
      for (int r = 0; r < rows; r++) {
        int o = r * c;
        for (int i = 0; i < c; i++) {
          double xi = x[o + i], yi = y[o + i];
          m.sx[i] += xi;
          m.sy[i] += yi;
          int row = i * c;
          for (int j = 0; j < c; j++) {
            double xj = x[o + j], yj = y[o + j];
            m.xx[row + j] += xi * xj;
            m.yy[row + j] += yi * yj;
            m.xy[row + j] += xi * yj;
          }
        }
      }
      m.n += rows;
    }
  }

  /** CKA per block (in block order), for the blocks that have both branches. */
  public Map<String, Double> result() {
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, Moments> e : blocks.entrySet()) {
      Moments m = e.getValue();
      double hxy = centredFrobeniusSquared(m.xy, m.sx, m.sy, m.n, m.c);
      double hxx = centredFrobeniusSquared(m.xx, m.sx, m.sx, m.n, m.c);
      double hyy = centredFrobeniusSquared(m.yy, m.sy, m.sy, m.n, m.c);
      out.put(e.getKey(), hxy / Math.sqrt(hxx * hyy));
    }
    return out;
  }

  /** ‖AᵀB − n·μ_a μ_bᵀ‖²_F from the raw product AᵀB and the column sums. */
  private static double centredFrobeniusSquared(double[] ab, double[] sa, double[] sb, long n, int c) {
    double total = 0;
    for (int i = 0; i < c; i++) {
      for (int j = 0; j < c; j++) {
        double v = ab[i * c + j] - sa[i] * sb[j] / n;
        total += v * v;
      }
    }
    return total;
  }
}
