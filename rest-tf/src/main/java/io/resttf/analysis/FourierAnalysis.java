package io.resttf.analysis;

import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ResTv2 paper's Fourier analysis (Figure 3), as the official {@code fourier_analysis.py} defines it:
 * each block's feature map (attention branch, upsample branch, their sum) → 2-D FFT per channel →
 * log(|F| + 1e-6) → shifted by (h/2, w/2) → mean over images and channels → the diagonal from h/2 on →
 * minus its first value: the relative log amplitude from the lowest frequency (0) to the highest (π).
 *
 * <p>Only the diagonal is needed, so only its h/2 frequencies (u, v) = (i − h/2 mod h, i − w/2 mod w) are
 * transformed, in double precision, streaming over batches: the mean of the logs is a sum.
 */
public final class FourierAnalysis {
  /** What enters a block's projection: the attention branch, the upsample branch, their sum. */
  public enum Branch {
    ATTENTION("attn"),
    UPSAMPLE("up"),
    SUM("sum");

    public final String id;

    Branch(String id) {
      this.id = id;
    }
  }

  /** The official script's floor under the amplitude before the log. */
  static final double EPS = 1e-6;

  private final Map<String, EnumMap<Branch, double[]>> sums = new LinkedHashMap<>();
  private final Map<String, Long> counts = new LinkedHashMap<>();
  private int images;

  /** Adds one batch's branches (from {@link RestModel#branches}). */
  public void add(Map<String, RestModel.BlockBranches> batch) {
    for (Map.Entry<String, RestModel.BlockBranches> e : batch.entrySet()) {
      RestModel.BlockBranches b = e.getValue();
      EnumMap<Branch, double[]> acc = sums.computeIfAbsent(e.getKey(), k -> new EnumMap<>(Branch.class));
      long n = 0;
      for (Branch br : Branch.values()) {
        HostTensor t = switch (br) {
          case ATTENTION -> b.attention();
          case UPSAMPLE -> b.upsample();
          case SUM -> b.sum();
        };
        if (t == null) continue;
        double[] s = diagonalLogAmplitudes(t);
        double[] a = acc.computeIfAbsent(br, k -> new double[s.length]);
        for (int i = 0; i < s.length; i++) a[i] += s[i];
        n = t.shape()[0] * t.shape()[3];
      }
      counts.merge(e.getKey(), n, Long::sum);
    }
    if (!batch.isEmpty()) images += (int) batch.values().iterator().next().sum().shape()[0];
  }

  public int images() {
    return images;
  }

  /** Per branch, per block (in block order): the relative log amplitudes, index 0 = frequency 0. */
  public Map<Branch, Map<String, double[]>> result() {
    Map<Branch, Map<String, double[]>> out = new EnumMap<>(Branch.class);
    for (Map.Entry<String, EnumMap<Branch, double[]>> e : sums.entrySet()) {
      long n = counts.get(e.getKey());
      for (Map.Entry<Branch, double[]> b : e.getValue().entrySet()) {
        double[] s = b.getValue(), rel = new double[s.length];
        for (int i = 0; i < s.length; i++) rel[i] = (s[i] - s[0]) / n;
        out.computeIfAbsent(b.getKey(), k -> new LinkedHashMap<>()).put(e.getKey(), rel);
      }
    }
    return out;
  }

  /**
   * Σ over images and channels of the shifted log-amplitude map's diagonal from h/2 on, for one NHWC
   * tensor [B, h, w, C]: entry j is log(|F(u, v)| + 1e-6) at shifted position (h/2 + j, h/2 + j), i.e.
   * u = j (mod h), v = h/2 + j − w/2 (mod w), for h/2 + j < min(h, w) (torch's diag of an h×w matrix).
   */
  static double[] diagonalLogAmplitudes(HostTensor t) {
    long[] s = t.shape();
    int batch = (int) s[0], h = (int) s[1], w = (int) s[2], c = (int) s[3];
    int first = h / 2, len = Math.min(h, w) - first;
    if (len < 1) {
      throw new BadInputException("Fourier analysis: a " + h + "x" + w + " feature map has no diagonal past its centre;"
          + " use inputs closer to square");
    }
    int[] u = new int[len], v = new int[len];
    for (int j = 0; j < len; j++) {
      int i = first + j; // shifted index; torch.roll by (h/2, w/2): shifted[i][i] = original[i - h/2][i - w/2]
      u[j] = Math.floorMod(i - h / 2, h);
      v[j] = Math.floorMod(i - w / 2, w);
    }
    // phase table over (u·x/h + v·y/w) in units of 1/(h·w)
    int period = h * w;
    double[] cos = new double[period], sin = new double[period];
    for (int k = 0; k < period; k++) {
      cos[k] = Math.cos(2 * Math.PI * k / period);
      sin[k] = Math.sin(2 * Math.PI * k / period);
    }
    float[] data = t.toFloats();
    double[] out = new double[len];
    double[] re = new double[c * len], im = new double[c * len];
    for (int b = 0; b < batch; b++) {
      java.util.Arrays.fill(re, 0);
      java.util.Arrays.fill(im, 0);
      for (int x = 0; x < h; x++) {
        for (int y = 0; y < w; y++) {
          int base = ((b * h + x) * w + y) * c;
          for (int j = 0; j < len; j++) {
            int k = (int) (((long) u[j] * x * w + (long) v[j] * y * h) % period);
            double cr = cos[k], ci = sin[k];
            int o = j;
            for (int ch = 0; ch < c; ch++, o += len) {
              double val = data[base + ch];
              re[o] += val * cr;
              im[o] -= val * ci;
            }
          }
        }
      }
      for (int ch = 0; ch < c; ch++) {
        for (int j = 0; j < len; j++) {
          int o = ch * len + j;
          out[j] += Math.log(Math.hypot(re[o], im[o]) + EPS);
        }
      }
    }
    return out;
  }

  /** Block names in order, for tables. */
  public List<String> blocks() {
    return new ArrayList<>(sums.keySet());
  }
}
