package io.resttf.serving;

import java.util.List;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.strings.StringFormat;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TType;

/**
 * mmseg's test pipeline for the official ResTv2 ADE20K models, in the graph: decode (RGB; the size checked
 * from the header first, as classify_images does), {@code AlignResize(img_scale=(2048, 512), keep_ratio=True,
 * size_divisor=32)} from the official repository's semantic_segmentation/tools/align_resize.py (mmcv's
 * imrescale to fit 2048×512 keeping the ratio, new size int(side·scale + 0.5), then a second resize of each
 * side up to a multiple of 32: the backbone needs that), each resize cv2's INTER_LINEAR on uint8 bit for bit
 * ({@link #cvResizeLinear}), then {@code Normalize} with ImageNet's mean and std in RGB.
 */
final class MmsegTestPipeline {
  private MmsegTestPipeline() {}

  static final int SIZE_DIVISOR = 32;

  /**
   * string [N] → {float32 [N, H', W', 3] normalised (all images of one request must share their size), int32
   * [N, 2] each image's original (height, width)} as float32... returned as {pixels, sizes-as-float32}; the
   * caller casts the sizes.
   */
  @SuppressWarnings("unchecked")
  static Operand<TFloat32>[] build(Graph g, Ops tf, Operand<TString> images, long maxPixels, DenseExport.TestPipeline p,
      int channels) {
    Ops pt = tf.withSubScope("mmseg_preprocess");
    Operand<TInt32> n = pt.reshape(pt.shape(images), pt.constant(new int[0]));
    Operand<TInt32> imageShape = pt.constant(new int[] {-1, -1, channels});
    Operand<TInt32> sizeShape = pt.constant(new int[] {2});
    Operand<TType> pixels0 = pt.tensorListReserve(imageShape, n, TFloat32.class);
    Operand<TType> sizes0 = pt.tensorListReserve(sizeShape, n, TInt32.class);
    Output<?>[] outs;
    try (ConcreteFunction decodeJpeg = ServingGraph.decodeFunction(true, maxPixels);
        ConcreteFunction decodeOther = ServingGraph.decodeFunction(false, maxPixels)) {
      g.attachFunction(decodeJpeg);
      g.attachFunction(decodeOther);
      outs = g.whileLoop(
          new Output<?>[] {pt.constant(0).asOutput(), n.asOutput(), images.asOutput(), pixels0.asOutput(), sizes0.asOutput()},
          (cg, in, out) -> {
            Ops cond = Ops.create(cg);
            out[0] = cond.math.less((Operand<TInt32>) in[0], (Operand<TInt32>) in[1]).asOutput();
          },
          (bg, in, out) -> {
            Ops b = Ops.create(bg);
            Operand<TInt32> i = (Operand<TInt32>) in[0];
            Operand<TString> bytes = b.gather((Operand<TString>) in[2], i, b.constant(0));
            Operand<TUint8> rgb = ServingGraph.decodeRgb(b, bytes, i, decodeJpeg, decodeOther);
            Operand<TInt32> hw = b.slice(b.shape(rgb), b.constant(new int[] {0}), b.constant(new int[] {2}));
            out[0] = b.math.add(i, b.constant(1)).asOutput();
            out[1] = in[1];
            out[2] = in[2];
            out[3] = b.tensorListSetItem((Operand<TType>) in[3], i, preprocessOne(b, rgb, p, channels)).asOutput();
            out[4] = b.tensorListSetItem((Operand<TType>) in[4], i, hw).asOutput();
          },
          "mmseg_preprocess_loop");
    }
    Operand<TInt32> sizes = pt.tensorListStack((Operand<TType>) outs[4], sizeShape, TInt32.class);
    // one request, one size: the network runs on one batch tensor
    Operand<TInt32> first = pt.slice(sizes, pt.constant(new int[] {0, 0}), pt.constant(new int[] {1, 2}));
    Operand<TBool> same = pt.reduceAll(pt.math.equal(sizes, first), pt.constant(new int[] {0, 1}));
    Operand<TString> msg = pt.strings.stringFormat(List.of(sizes), StringFormat.template(
        "segment_images takes images of one size per request (height, width of each: {}); send other sizes separately"),
        StringFormat.placeholder("{}"), StringFormat.summarize(16L));
    Op check = pt.withName("check_one_size").assertThat(same, List.of(msg));
    Operand<TFloat32> pixels = pt.withControlDependencies(List.of(check))
        .tensorListStack((Operand<TType>) outs[3], imageShape, TFloat32.class);
    return new Operand[] {pixels, pt.dtypes.cast(sizes, TFloat32.class)};
  }

  /** One decoded RGB image → float32 [H', W', 3]: AlignResize, then Normalize. */
  private static Operand<TFloat32> preprocessOne(Ops b, Operand<TUint8> rgb, DenseExport.TestPipeline p, int channels) {
    Operand<TInt32> shape = b.shape(rgb);
    Operand<TFloat64> h = b.dtypes.cast(ServingGraph.dim(b, shape, 0), TFloat64.class);
    Operand<TFloat64> w = b.dtypes.cast(ServingGraph.dim(b, shape, 1), TFloat64.class);
    // mmcv.rescale_size: min(max_long / long, max_short / short), in Python floats (float64)
    Operand<TFloat64> scale = b.math.minimum(
        b.math.div(b.constant((double) p.longEdge()), b.math.maximum(h, w)),
        b.math.div(b.constant((double) p.shortEdge()), b.math.minimum(h, w)));
    Operand<TInt32> nh = b.dtypes.cast(b.math.floor(b.math.add(b.math.mul(h, scale), b.constant(0.5))), TInt32.class);
    Operand<TInt32> nw = b.dtypes.cast(b.math.floor(b.math.add(b.math.mul(w, scale), b.constant(0.5))), TInt32.class);
    Operand<TInt32> d = b.constant(SIZE_DIVISOR);
    Operand<TInt32> ah = b.math.mul(b.math.floorDiv(b.math.add(nh, b.constant(SIZE_DIVISOR - 1)), d), d);
    Operand<TInt32> aw = b.math.mul(b.math.floorDiv(b.math.add(nw, b.constant(SIZE_DIVISOR - 1)), d), d);
    Operand<TInt32> x = b.dtypes.cast(rgb, TInt32.class);
    x = cvResizeLinear(b, x, nh, nw);
    x = cvResizeLinear(b, x, ah, aw);
    if (channels == 1) {
      // ITU-R 601 luma in integers, as the training reader (SegmentationFolder) turns colour into grey
      Operand<TInt32> luma = b.math.floorDiv(b.math.add(b.reduceSum(b.math.mul(x, b.constant(new int[] {299, 587, 114})),
          b.constant(new int[] {2}), org.tensorflow.op.core.ReduceSum.keepDims(true)), b.constant(500)), b.constant(1000));
      x = luma;
    }
    float[] mean = new float[channels], inv = new float[channels];
    for (int k = 0; k < channels; k++) {
      mean[k] = (float) (double) p.mean().get(k);
      inv[k] = (float) (1 / p.std().get(k)); // mmcv.imnormalize multiplies by 1 / std
    }
    return b.math.mul(b.math.sub(b.dtypes.cast(x, TFloat32.class), b.constant(mean)), b.constant(inv));
  }

  /**
   * cv2.resize(src, (w, h), interpolation=INTER_LINEAR) of a uint8 image [H, W, C] (held as int32), bit for bit
   * as OpenCV computes it for 8-bit images (checked against OpenCV 4.6 on every size tried): per axis, source
   * position f = (float)((d + 0.5)·(1 / (dst / src)) − 0.5), s = ⌊f⌋, weights rint((1 − f)·2048) and
   * rint(f·2048); horizontally, positions outside [0, W−1) are clamped with weight (2048, 0); vertically
   * the weights stay and the two rows are clipped into the image. The horizontal pass is exact integer
   * arithmetic; the vertical pass is OpenCV's SIMD form: ((S0 >> 4)·b0 >> 16) + ((S1 >> 4)·b1 >> 16),
   * then (+2) >> 2, saturated to 0..255.
   */
  static Operand<TInt32> cvResizeLinear(Ops b, Operand<TInt32> x, Operand<TInt32> outH, Operand<TInt32> outW) {
    Operand<TInt32> shape = b.shape(x);
    Operand<TInt32> inH = ServingGraph.dim(b, shape, 0), inW = ServingGraph.dim(b, shape, 1);
    Operand<TInt32>[] hx = taps(b, inW, outW, true);
    Operand<TInt32> rows = b.math.add(
        b.math.mul(b.gather(x, hx[0], b.constant(1)), b.reshape(hx[2], b.constant(new int[] {1, -1, 1}))),
        b.math.mul(b.gather(x, hx[1], b.constant(1)), b.reshape(hx[3], b.constant(new int[] {1, -1, 1}))));
    Operand<TInt32>[] vy = taps(b, inH, outH, false);
    Operand<TInt32> four = b.constant(4), sixteen = b.constant(16);
    Operand<TInt32> r0 = b.bitwise.rightShift(b.gather(rows, vy[0], b.constant(0)), four);
    Operand<TInt32> r1 = b.bitwise.rightShift(b.gather(rows, vy[1], b.constant(0)), four);
    Operand<TInt32> y = b.math.add(
        b.bitwise.rightShift(b.math.mul(r0, b.reshape(vy[2], b.constant(new int[] {-1, 1, 1}))), sixteen),
        b.bitwise.rightShift(b.math.mul(r1, b.reshape(vy[3], b.constant(new int[] {-1, 1, 1}))), sixteen));
    y = b.bitwise.rightShift(b.math.add(y, b.constant(2)), b.constant(2));
    return b.clipByValue(y, b.constant(0), b.constant(255));
  }

  /** {first source index, second source index, first weight, second weight} of each output position, as int32 [n]. */
  @SuppressWarnings("unchecked")
  private static Operand<TInt32>[] taps(Ops b, Operand<TInt32> src, Operand<TInt32> dst, boolean clampWeights) {
    Operand<TFloat64> srcD = b.dtypes.cast(src, TFloat64.class), dstD = b.dtypes.cast(dst, TFloat64.class);
    Operand<TFloat64> scale = b.math.div(b.constant(1.0), b.math.div(dstD, srcD));
    Operand<TFloat64> d = b.dtypes.cast(b.range(b.constant(0), dst, b.constant(1)), TFloat64.class);
    Operand<TFloat32> f = b.dtypes.cast(b.math.sub(b.math.mul(b.math.add(d, b.constant(0.5)), scale), b.constant(0.5)),
        TFloat32.class);
    Operand<TFloat32> fl = b.math.floor(f);
    Operand<TInt32> s = b.dtypes.cast(fl, TInt32.class);
    Operand<TFloat32> frac = b.math.sub(f, fl);
    Operand<TInt32> last = b.math.sub(src, b.constant(1));
    Operand<TInt32> s0, s1;
    if (clampWeights) {
      Operand<TBool> outside = b.math.logicalOr(b.math.less(s, b.constant(0)), b.math.greaterEqual(s, last));
      frac = b.select(outside, b.zerosLike(frac), frac);
      s0 = b.clipByValue(s, b.constant(0), last);
      s1 = b.math.minimum(b.math.add(s0, b.constant(1)), last);
    } else {
      s0 = b.clipByValue(s, b.constant(0), last);
      s1 = b.clipByValue(b.math.add(s, b.constant(1)), b.constant(0), last);
    }
    Operand<TFloat32> scaleW = b.constant(2048f);
    Operand<TInt32> w0 = b.dtypes.cast(b.math.rint(b.math.mul(b.math.sub(b.constant(1f), frac), scaleW)), TInt32.class);
    Operand<TInt32> w1 = b.dtypes.cast(b.math.rint(b.math.mul(frac, scaleW)), TInt32.class);
    return new Operand[] {s0, s1, w0, w1};
  }
}
