package io.resttf.model;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.util.function.UnaryOperator;

/**
 * mmseg's sliding-window and flip test-time logic (EncoderDecoder.slide_inference / aug_test), on host
 * tensors, around any function from an NHWC batch to its seg logits at the same size.
 */
public final class SlideInference {
  private SlideInference() {}

  /**
   * Crops of {@code crop}² every {@code stride} pixels, the last row and column of crops moved back to end at
   * the border, each crop's logits added at its place and divided by how many crops cover each pixel. A
   * side shorter than the crop is taken whole. Crop sides must be multiples of 32, as any input.
   */
  public static HostTensor slide(HostTensor nhwc, int crop, int stride, int numClasses, UnaryOperator<HostTensor> logits) {
    if (crop < RestConfig.STRIDE || crop % RestConfig.STRIDE != 0) {
      throw new BadInputException("crop size " + crop + " must be a multiple of 32 and at least 32");
    }
    if (stride < 1 || stride > crop) {
      throw new BadInputException("slide stride " + stride + " must be in 1.." + crop + " (the crop size)");
    }
    long[] shape = nhwc.shape();
    int b = (int) shape[0], h = (int) shape[1], w = (int) shape[2], c = (int) shape[3];
    int k = numClasses;
    int hGrids = Math.max(h - crop + stride - 1, 0) / stride + 1;
    int wGrids = Math.max(w - crop + stride - 1, 0) / stride + 1;
    float[] src = nhwc.toFloats();
    float[] preds = new float[Math.multiplyExact(Math.multiplyExact(b, h), Math.multiplyExact(w, k))];
    int[] count = new int[h * w];
    for (int hi = 0; hi < hGrids; hi++) {
      for (int wi = 0; wi < wGrids; wi++) {
        int y2 = Math.min(hi * stride + crop, h), x2 = Math.min(wi * stride + crop, w);
        int y1 = Math.max(y2 - crop, 0), x1 = Math.max(x2 - crop, 0);
        int ch = y2 - y1, cw = x2 - x1;
        float[] part = new float[b * ch * cw * c];
        for (int n = 0; n < b; n++) {
          for (int y = 0; y < ch; y++) {
            System.arraycopy(src, ((n * h + y1 + y) * w + x1) * c, part, ((n * ch + y) * cw) * c, cw * c);
          }
        }
        float[] l = logits.apply(HostTensor.ofFloats(new long[] {b, ch, cw, c}, part)).toFloats();
        for (int n = 0; n < b; n++) {
          for (int y = 0; y < ch; y++) {
            for (int x = 0; x < cw; x++) {
              int from = ((n * ch + y) * cw + x) * k, to = ((n * h + y1 + y) * w + x1 + x) * k;
              for (int j = 0; j < k; j++) preds[to + j] += l[from + j];
            }
          }
        }
        for (int y = y1; y < y2; y++) for (int x = x1; x < x2; x++) count[y * w + x]++;
      }
    }
    for (int n = 0; n < b; n++) {
      for (int p = 0; p < h * w; p++) {
        for (int j = 0; j < k; j++) preds[(n * h * w + p) * k + j] /= count[p];
      }
    }
    return HostTensor.ofFloats(new long[] {b, h, w, k}, preds);
  }

  /** x [B, H, W, C] mirrored left-right. */
  public static HostTensor flipWidth(HostTensor nhwc) {
    long[] s = nhwc.shape();
    int b = (int) s[0], h = (int) s[1], w = (int) s[2], c = (int) s[3];
    float[] v = nhwc.toFloats(), out = new float[v.length];
    for (int n = 0; n < b; n++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          System.arraycopy(v, ((n * h + y) * w + x) * c, out, ((n * h + y) * w + (w - 1 - x)) * c, c);
        }
      }
    }
    return HostTensor.ofFloats(s, out);
  }

  /**
   * F.interpolate(x, size=(outH, outW), mode='bilinear', align_corners=False) of one NHWC image [1, H, W, K]
   * (mmseg's rescale of the logits to the original image size), returned as [outH·outW·K] floats.
   */
  public static float[] resizeBilinear(HostTensor nhwc, int outH, int outW) {
    long[] s = nhwc.shape();
    int h = (int) s[1], w = (int) s[2], k = (int) s[3];
    float[] v = nhwc.toFloats();
    float[] out = new float[Math.multiplyExact(Math.multiplyExact(outH, outW), k)];
    int[] y0 = new int[outH], y1 = new int[outH], x0 = new int[outW], x1 = new int[outW];
    double[] fy = new double[outH], fx = new double[outW];
    axis(h, outH, y0, y1, fy);
    axis(w, outW, x0, x1, fx);
    for (int y = 0; y < outH; y++) {
      for (int x = 0; x < outW; x++) {
        int a = (y0[y] * w + x0[x]) * k, b = (y0[y] * w + x1[x]) * k, c = (y1[y] * w + x0[x]) * k, d = (y1[y] * w + x1[x]) * k;
        int o = (y * outW + x) * k;
        double wy = fy[y], wx = fx[x];
        for (int j = 0; j < k; j++) {
          double top = v[a + j] + (v[b + j] - v[a + j]) * wx;
          double bottom = v[c + j] + (v[d + j] - v[c + j]) * wx;
          out[o + j] = (float) (top + (bottom - top) * wy);
        }
      }
    }
    return out;
  }

  /** PyTorch's source coordinates for align_corners=False: (o + 0.5)·in/out − 0.5, clamped at 0. */
  private static void axis(int in, int out, int[] lo, int[] hi, double[] frac) {
    double scale = (double) in / out;
    for (int o = 0; o < out; o++) {
      double src = Math.max((o + 0.5) * scale - 0.5, 0);
      int i0 = Math.min((int) Math.floor(src), in - 1);
      lo[o] = i0;
      hi[o] = Math.min(i0 + 1, in - 1);
      frac[o] = src - i0;
    }
  }
}
