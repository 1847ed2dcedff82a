package io.resttf.model;

import io.resttf.tensor.HostTensor;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one mapping from official PyTorch state_dict keys to this project's TF variables.
 *
 * <p><b>Names.</b> The TF variable of key {@code k} is named {@code k} itself (TF op names allow
 * dots), e.g. {@code stage1.0.attn.q.weight}, so a TF name — in the graph, a TF checkpoint or a
 * SavedModel — always tells its official origin. BatchNorm {@code num_batches_tracked} is the only official entry without a
 * variable (it carries no information for inference).
 *
 * <p><b>Layouts</b> ({@link Layout}): Conv2d {@code [O, I, kh, kw]} → HWIO {@code [kh, kw, I, O]};
 * depthwise Conv2d {@code [C·m, 1, k, k]} → {@code [k, k, C, m]} (pa_conv, sr and up.0); Linear
 * {@code [out, in]} → {@code [in, out]}; the v1 head-interaction 1×1 conv {@code [h, h, 1, 1]} → a
 * {@code [h_in, h_out]} matrix; everything else (biases, norms, BN statistics) unchanged. The fused
 * {@code kv} Linear(C, 2C) is kept fused as one {@code [C, 2C]} kernel: output columns {@code [0, C)}
 * are K and {@code [C, 2C)} are V, each ordered (head, head_dim) as in the official reshape.
 *
 * <p>This class is pure: it depends only on the key, the family/config and the data passed in.
 */
public final class WeightMapping {
  private WeightMapping() {}

  /** How an official tensor's layout becomes the TF variable's layout. */
  public enum Layout {
    /** unchanged */
    IDENTITY,
    /** Linear [out, in] → [in, out] */
    LINEAR,
    /** Conv2d [O, I, kh, kw] → [kh, kw, I, O] */
    CONV,
    /** depthwise Conv2d [C·m, 1, k, k] → [k, k, C, m] */
    DEPTHWISE,
    /** v1 head-interaction Conv2d [h_out, h_in, 1, 1] → [h_in, h_out] */
    HEAD_MIX
  }

  private static final Pattern STAGE = Pattern.compile("^stage(\\d)\\.");

  /** The TF variable name of an official key, or empty for {@code num_batches_tracked}. */
  public static Optional<String> tfName(String officialKey) {
    if (officialKey.endsWith(".num_batches_tracked")) return Optional.empty();
    return Optional.of(officialKey);
  }

  /** The official key of a TF variable name (inverse of {@link #tfName}). */
  public static String officialKey(String tfName) {
    return tfName;
  }

  /** The layout transform of an official key. */
  public static Layout layout(String officialKey) {
    if (!officialKey.endsWith(".weight")) return Layout.IDENTITY;
    if (officialKey.endsWith(".pa_conv.weight")
        || officialKey.endsWith(".attn.sr.weight")
        || officialKey.endsWith(".attn.up.0.weight")) {
      return Layout.DEPTHWISE;
    }
    if (officialKey.endsWith(".attn.transform_conv.weight")) return Layout.HEAD_MIX;
    if (officialKey.startsWith("stem.conv")
        || officialKey.matches("stem\\.proj\\.[036]\\.weight")
        || officialKey.matches("patch_embed_\\d\\.conv\\.weight")
        || officialKey.matches("patch_\\d\\.proj\\.weight")) {
      return Layout.CONV;
    }
    if (officialKey.equals("head.weight")
        || officialKey.matches(".*\\.attn\\.(q|kv|proj)\\.weight")
        || officialKey.matches(".*\\.mlp\\.fc[12]\\.weight")) {
      return Layout.LINEAR;
    }
    return Layout.IDENTITY; // norm weights
  }

  /**
   * The TF shape of an official tensor of {@code shape} under {@link #layout}. The config gives the
   * depthwise multiplier of the v2 up branch (r² for the stage's sr ratio r).
   */
  public static long[] tfShape(String officialKey, long[] shape, RestConfig config) {
    switch (layout(officialKey)) {
      case LINEAR:
        requireRank(officialKey, shape, 2);
        return new long[] {shape[1], shape[0]};
      case CONV:
        requireRank(officialKey, shape, 4);
        return new long[] {shape[2], shape[3], shape[1], shape[0]};
      case DEPTHWISE: {
        requireRank(officialKey, shape, 4);
        long m = 1;
        if (officialKey.endsWith(".attn.up.0.weight")) {
          long r = config.srRatio(stageOf(officialKey));
          m = r * r;
        }
        return new long[] {shape[2], shape[3], shape[0] / m, m};
      }
      case HEAD_MIX:
        requireRank(officialKey, shape, 4);
        return new long[] {shape[1], shape[0]};
      default:
        return shape.clone();
    }
  }

  static int stageOf(String officialKey) {
    Matcher m = STAGE.matcher(officialKey);
    if (!m.find()) throw new IllegalArgumentException("not a stage key: " + officialKey);
    return Integer.parseInt(m.group(1)) - 1;
  }

  /** Converts an official tensor to the TF variable's layout (a new array; the input is not changed). */
  public static HostTensor toTf(String officialKey, HostTensor official, RestConfig config) {
    long[] s = official.shape();
    long[] t = tfShape(officialKey, s, config);
    float[] src = official.toFloats();
    Layout layout = layout(officialKey);
    if (layout == Layout.IDENTITY) return HostTensor.ofFloats(official.dtype(), t, src);
    float[] dst = new float[src.length];
    switch (layout) {
      case LINEAR:
      case HEAD_MIX: {
        int out = (int) s[0], in = (int) s[1]; // [out, in(,1,1)] -> [in, out]
        transpose(src, 0, in, 1, dst, 0, out, in);
        break;
      }
      case CONV: {
        // [O, I, kh, kw] -> [kh, kw, I, O]: for each kernel tap k = y * kw + x, the [O, I] slice (element
        // stride kh * kw) transposed into the [I, O] block k of the output
        int o = (int) s[0], in = (int) s[1], k = (int) (s[2] * s[3]);
        for (int tap = 0; tap < k; tap++) transpose(src, tap, in * k, k, dst, tap * in * o, o, in);
        break;
      }
      case DEPTHWISE: {
        // official out channel c*m + j reads input channel c; TF filter [kh, kw, c, j] gives output c*m + j.
        int kh = (int) s[2], kw = (int) s[3], c = (int) t[2], m = (int) t[3];
        for (int ci = 0; ci < c; ci++)
          for (int j = 0; j < m; j++)
            for (int y = 0; y < kh; y++)
              for (int x = 0; x < kw; x++)
                dst[((y * kw + x) * c + ci) * m + j] = src[((ci * m + j) * kh + y) * kw + x];
        break;
      }
      default:
        throw new IllegalStateException();
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
  public static HostTensor toOfficial(String officialKey, HostTensor tf, long[] officialShape) {
    float[] src = tf.toFloats();
    long[] s = officialShape;
    Layout layout = layout(officialKey);
    if (layout == Layout.IDENTITY) return HostTensor.ofFloats(s, src);
    float[] dst = new float[src.length];
    switch (layout) {
      case LINEAR:
      case HEAD_MIX: {
        int out = (int) s[0], in = (int) s[1];
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) dst[o * in + i] = src[i * out + o];
        break;
      }
      case CONV: {
        int o = (int) s[0], in = (int) s[1], kh = (int) s[2], kw = (int) s[3];
        for (int a = 0; a < o; a++)
          for (int b = 0; b < in; b++)
            for (int y = 0; y < kh; y++)
              for (int x = 0; x < kw; x++)
                dst[((a * in + b) * kh + y) * kw + x] = src[((y * kw + x) * in + b) * o + a];
        break;
      }
      case DEPTHWISE: {
        long[] t = tf.shape();
        int kh = (int) s[2], kw = (int) s[3], c = (int) t[2], m = (int) t[3];
        for (int ci = 0; ci < c; ci++)
          for (int j = 0; j < m; j++)
            for (int y = 0; y < kh; y++)
              for (int x = 0; x < kw; x++)
                dst[((ci * m + j) * kh + y) * kw + x] = src[((y * kw + x) * c + ci) * m + j];
        break;
      }
      default:
        throw new IllegalStateException();
    }
    return HostTensor.ofFloats(s, dst);
  }

  private static void requireRank(String key, long[] shape, int rank) {
    if (shape.length != rank) {
      throw new IllegalArgumentException(key + ": expected a rank-" + rank + " tensor, got shape " + Arrays.toString(shape));
    }
  }
}
