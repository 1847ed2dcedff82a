package io.resttf.model;

import io.resttf.tensor.HostTensor;
import java.util.Arrays;
import java.util.Optional;

/**
 * The one mapping between official PyTorch state_dict entries and this project's TF variables.
 *
 * <p><b>Names</b> (data, apart from layouts). The TF variable of key {@code k} is named {@code k} itself
 * (TF op names allow dots), e.g. {@code stage1.0.attn.q.weight}, so a TF name — in the graph, a TF
 * checkpoint or a SavedModel — always tells its official origin. BatchNorm {@code num_batches_tracked}
 * is the only official entry without a variable (it carries no information for inference).
 *
 * <p><b>Layouts</b> follow the {@link ParamKind} the creating layer declared (never the key): Conv2d
 * {@code [O, I, kh, kw]} → HWIO {@code [kh, kw, I, O]}; depthwise Conv2d {@code [C·m, 1, k, k]} →
 * {@code [k, k, C, m]}; Linear {@code [out, in]} → {@code [in, out]}; the v1 head-interaction 1×1 conv
 * {@code [h, h, 1, 1]} → a {@code [h_in, h_out]} matrix; everything else (biases, norms, BN statistics)
 * unchanged. The fused {@code kv} Linear(C, 2C) is kept fused as one {@code [C, 2C]} kernel: output
 * columns {@code [0, C)} are K and {@code [C, 2C)} are V, each ordered (head, head_dim) as in the
 * official reshape.
 *
 * <p>This class is pure: it depends only on the declaration and the data passed in.
 */
public final class WeightMapping {
  private WeightMapping() {}

  /** The TF variable name of an official key, or empty for {@code num_batches_tracked}. */
  public static Optional<String> tfName(String officialKey) {
    if (officialKey.endsWith(".num_batches_tracked")) return Optional.empty();
    return Optional.of(officialKey);
  }

  /** The official key of a TF variable name (inverse of {@link #tfName}). */
  public static String officialKey(String tfName) {
    return tfName;
  }

  /** Converts an official tensor to the TF variable's layout (a new array; the input is not changed). */
  public static HostTensor toTf(ParamSpec p, HostTensor official) {
    long[] s = official.shape();
    if (!Arrays.equals(s, p.officialShape())) {
      throw new IllegalArgumentException(p.key() + ": expected shape " + Arrays.toString(p.officialShape())
          + ", got " + official.shapeString());
    }
    long[] t = p.tfShape();
    float[] src = official.toFloats();
    float[] dst;
    switch (p.kind()) {
      case LINEAR:
      case HEAD_MIX: {
        dst = new float[src.length];
        int out = (int) s[0], in = (int) s[1]; // [out, in(,1,1)] -> [in, out]
        transpose(src, 0, in, 1, dst, 0, out, in);
        break;
      }
      case CONV: {
        // [O, I, kh, kw] -> [kh, kw, I, O]: for each kernel tap k = y * kw + x, the [O, I] slice (element
        // stride kh * kw) transposed into the [I, O] block k of the output
        dst = new float[src.length];
        int o = (int) s[0], in = (int) s[1], k = (int) (s[2] * s[3]);
        for (int tap = 0; tap < k; tap++) transpose(src, tap, in * k, k, dst, tap * in * o, o, in);
        break;
      }
      case DEPTHWISE:
      case RESIDUAL_DEPTHWISE: {
        // official out channel c*m + j reads input channel c; TF filter [kh, kw, c, j] gives output c*m + j.
        dst = new float[src.length];
        int kh = (int) s[2], kw = (int) s[3], c = (int) t[2], m = (int) t[3];
        for (int ci = 0; ci < c; ci++)
          for (int j = 0; j < m; j++)
            for (int y = 0; y < kh; y++)
              for (int x = 0; x < kw; x++)
                dst[((y * kw + x) * c + ci) * m + j] = src[((ci * m + j) * kh + y) * kw + x];
        break;
      }
      default:
        dst = src;
    }
    return HostTensor.ofFloats(official.dtype(), t, dst);
  }

  /** Tiles of {@link #transpose}: 8 source rows (8 cache lines, within an L1 set even for power-of-2 strides) by 64 columns. */
  private static final int TILE_ROWS = 8;
  private static final int TILE_COLS = 64;

  /**
   * {@code dst[dstOff + c * rows + r] = src[srcOff + r * rowStride + c * colStride]} for r < rows, c < cols:
   * a (strided) [rows, cols] matrix transposed into a dense [cols, rows] one, tile by tile so that reads and
   * writes stay within a few cache lines (a plain double loop misses the cache on nearly every write of a
   * large matrix, about 6x slower).
   */
  private static void transpose(float[] src, int srcOff, int rowStride, int colStride, float[] dst, int dstOff,
      int rows, int cols) {
    for (int r0 = 0; r0 < rows; r0 += TILE_ROWS) {
      int r1 = Math.min(rows, r0 + TILE_ROWS);
      for (int c0 = 0; c0 < cols; c0 += TILE_COLS) {
        int c1 = Math.min(cols, c0 + TILE_COLS);
        for (int c = c0; c < c1; c++) {
          int d = dstOff + c * rows;
          int sc = srcOff + c * colStride;
          for (int r = r0; r < r1; r++) dst[d + r] = src[sc + r * rowStride];
        }
      }
    }
  }

  /** Converts a tensor in TF variable layout back to the official layout (inverse of {@link #toTf}). */
  public static HostTensor toOfficial(ParamSpec p, HostTensor tf) {
    if (!Arrays.equals(tf.shape(), p.tfShape())) {
      throw new IllegalArgumentException(p.key() + ": expected TF shape " + Arrays.toString(p.tfShape())
          + ", got " + tf.shapeString());
    }
    float[] src = tf.toFloats();
    long[] s = p.officialShape();
    float[] dst;
    switch (p.kind()) {
      case LINEAR:
      case HEAD_MIX: {
        dst = new float[src.length];
        int out = (int) s[0], in = (int) s[1];
        transpose(src, 0, out, 1, dst, 0, in, out);
        break;
      }
      case CONV: {
        dst = new float[src.length];
        int o = (int) s[0], in = (int) s[1], kh = (int) s[2], kw = (int) s[3];
        for (int a = 0; a < o; a++)
          for (int b = 0; b < in; b++)
            for (int y = 0; y < kh; y++)
              for (int x = 0; x < kw; x++)
                dst[((a * in + b) * kh + y) * kw + x] = src[((y * kw + x) * in + b) * o + a];
        break;
      }
      case DEPTHWISE:
      case RESIDUAL_DEPTHWISE: {
        dst = new float[src.length];
        long[] t = p.tfShape();
        int kh = (int) s[2], kw = (int) s[3], c = (int) t[2], m = (int) t[3];
        for (int ci = 0; ci < c; ci++)
          for (int j = 0; j < m; j++)
            for (int y = 0; y < kh; y++)
              for (int x = 0; x < kw; x++)
                dst[((ci * m + j) * kh + y) * kw + x] = src[((y * kw + x) * c + ci) * m + j];
        break;
      }
      default:
        dst = src;
    }
    return HostTensor.ofFloats(s, dst);
  }
}
