package io.resttf.serving;

import static io.resttf.serving.ServingSignatures.*;

import io.resttf.model.Params;
import io.resttf.model.RestNetwork;
import io.resttf.model.SegmentationNetwork;
import io.resttf.model.WeightLoader;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;

/**
 * The serving graph of a dense export: the network once on a {@code pixel_values} input (checked like a
 * classification export's), and its signatures: {@code features} (the four normed backbone outputs,
 * strides 4–32, an FPN's input) for both kinds; {@code serving_default} ({@code seg_logits} at the input
 * size and the per-pixel {@code class_map}) for a segmentor.
 */
final class DenseServingGraph {
  final Operand<TFloat32> pixelValues;
  final List<Operand<TFloat32>> features;
  final Operand<TFloat32> segLogits;
  final Operand<TInt32> classMap;
  /** Segmentors: encoded images in, the mmseg test pipeline in the graph (null for a backbone). */
  final Placeholder<TString> imageBytes;
  final Operand<TFloat32> preprocessed;
  final Operand<TInt32> originalSizes;
  final Operand<TInt32> imageClassMap;
  final Operand<TInt64> classAreas;
  final WeightLoader loader;

  private DenseServingGraph(Graph g, DenseExport model, long maxPixels) {
    Ops tf = Ops.create(g);
    int c = model.backbone().inChans();
    if (model.head() != null && (c == 3 || c == 1)) {
      imageBytes = tf.withName(IMAGE_BYTES).placeholder(TString.class, Placeholder.shape(Shape.of(-1)));
      Operand<TFloat32>[] pre = MmsegTestPipeline.build(g, tf, imageBytes, maxPixels, model.pipeline(), c);
      preprocessed = tf.withName("preprocessed").identity(pre[0]);
      originalSizes = tf.withName(ORIGINAL_SIZES).dtypes.cast(pre[1], TInt32.class);
      pixelValues = tf.withName(PIXEL_VALUES).placeholderWithDefault(preprocessed, Shape.of(-1, -1, -1, c));
    } else {
      imageBytes = null;
      preprocessed = null;
      originalSizes = null;
      pixelValues = tf.withName(PIXEL_VALUES).placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, c)));
    }
    Operand<TFloat32> checked = ServingGraph.checkedPixels(tf, pixelValues, c);
    List<Operand<TFloat32>> feats = new ArrayList<>();
    if (model.head() != null) {
      SegmentationNetwork net = SegmentationNetwork.build(tf, model.backbone(), model.head(), checked);
      for (int i = 0; i < 4; i++) feats.add(tf.withName(stage(i)).identity(net.feature(i)));
      segLogits = tf.withName(SEG_LOGITS).identity(net.segLogits());
      classMap = tf.withName(CLASS_MAP).math.argMax(segLogits, tf.constant(3), TInt32.class);
      if (imageBytes != null) {
        // mmseg's whole-mode test: logits resized to each image's own size (bilinear, align_corners False), argmax
        Operand<TInt32> size = tf.reshape(tf.slice(originalSizes, tf.constant(new int[] {0, 0}), tf.constant(new int[] {1, 2})),
            tf.constant(new int[] {2}));
        Operand<TFloat32> atImage = tf.image.resizeBilinear(segLogits, size,
            org.tensorflow.op.image.ResizeBilinear.alignCorners(false), org.tensorflow.op.image.ResizeBilinear.halfPixelCenters(true));
        imageClassMap = tf.withName("image_class_map").math.argMax(atImage, tf.constant(3), TInt32.class);
        classAreas = tf.withName(CLASS_AREAS).identity(classAreas(tf, imageClassMap, model.head().numClasses()));
      } else {
        imageClassMap = null;
        classAreas = null;
      }
      loader = WeightLoader.create(tf, net.params(), model.backbone());
    } else {
      Params params = new Params(tf);
      RestNetwork net = RestNetwork.buildBackbone(tf, model.backbone(), checked, List.of(0, 1, 2, 3), model.style(),
          params.prefixed(model.keyPrefix()), null);
      for (int i = 0; i < 4; i++) feats.add(tf.withName(stage(i)).identity(net.stage(i)));
      segLogits = null;
      classMap = null;
      imageClassMap = null;
      classAreas = null;
      loader = WeightLoader.create(tf, params, model.backbone());
    }
    features = List.copyOf(feats);
  }

  static DenseServingGraph build(Graph g, DenseExport model, long maxPixels) {
    return new DenseServingGraph(g, model, maxPixels);
  }

  /** [B, K] int64: pixels of each class per image (an UnsortedSegmentSum of ones: no [B,H,W,K] one-hot). */
  private static Operand<TInt64> classAreas(Ops tf, Operand<TInt32> classMap, int k) {
    Operand<TInt32> shape = tf.shape(classMap);
    Operand<TInt32> b = tf.reshape(tf.slice(shape, tf.constant(new int[] {0}), tf.constant(new int[] {1})), tf.constant(new int[0]));
    Operand<TInt32> offsets = tf.reshape(tf.math.mul(tf.range(tf.constant(0), b, tf.constant(1)), tf.constant(k)),
        tf.constant(new int[] {-1, 1, 1}));
    Operand<TInt32> ids = tf.reshape(tf.math.add(classMap, offsets), tf.constant(new int[] {-1}));
    Operand<TInt64> ones = tf.onesLike(tf.dtypes.cast(ids, TInt64.class));
    Operand<TInt64> sums = tf.math.unsortedSegmentSum(ones, ids, tf.math.mul(b, tf.constant(k)));
    return tf.reshape(sums, tf.stack(List.of(b, tf.constant(k))));
  }

  List<Signature> signatures() {
    List<Signature> out = new ArrayList<>();
    if (segLogits != null) {
      out.add(Signature.builder().key(SERVING_DEFAULT).methodName(PREDICT_METHOD)
          .input(PIXEL_VALUES, pixelValues)
          .output(SEG_LOGITS, segLogits)
          .output(CLASS_MAP, classMap)
          .build());
    }
    if (imageBytes != null) {
      out.add(Signature.builder().key(SEGMENT_IMAGES).methodName(PREDICT_METHOD)
          .input(IMAGE_BYTES, imageBytes)
          .output(CLASS_MAP, imageClassMap)
          .output(CLASS_AREAS, classAreas)
          .output(ORIGINAL_SIZES, originalSizes)
          .build());
      out.add(Signature.builder().key(PREPROCESS_IMAGES).methodName(PREDICT_METHOD)
          .input(IMAGE_BYTES, imageBytes)
          .output(PIXEL_VALUES, preprocessed)
          .output(ORIGINAL_SIZES, originalSizes)
          .build());
    }
    Signature.Builder f = Signature.builder().key(FEATURES).methodName(PREDICT_METHOD).input(PIXEL_VALUES, pixelValues);
    for (int i = 0; i < features.size(); i++) f.output(stage(i), features.get(i));
    out.add(f.build());
    return out;
  }
}
