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

/**
 * The serving graph of a dense export: the network once on a {@code pixel_values} input (checked like a
 * classification export's), and its signatures: {@code features} (the four normed backbone outputs,
 * strides 4–32, an FPN's input) for both kinds; {@code serving_default} ({@code seg_logits} at the input
 * size and the per-pixel {@code class_map}) for a segmentor.
 */
final class DenseServingGraph {
  final Placeholder<TFloat32> pixelValues;
  final List<Operand<TFloat32>> features;
  final Operand<TFloat32> segLogits;
  final Operand<TInt32> classMap;
  final WeightLoader loader;

  private DenseServingGraph(Graph g, DenseExport model) {
    Ops tf = Ops.create(g);
    int c = model.backbone().inChans();
    pixelValues = tf.withName(PIXEL_VALUES).placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, c)));
    Operand<TFloat32> checked = ServingGraph.checkedPixels(tf, pixelValues, c);
    List<Operand<TFloat32>> feats = new ArrayList<>();
    if (model.head() != null) {
      SegmentationNetwork net = SegmentationNetwork.build(tf, model.backbone(), model.head(), checked);
      for (int i = 0; i < 4; i++) feats.add(tf.withName(stage(i)).identity(net.feature(i)));
      segLogits = tf.withName(SEG_LOGITS).identity(net.segLogits());
      classMap = tf.withName(CLASS_MAP).math.argMax(segLogits, tf.constant(3), TInt32.class);
      loader = WeightLoader.create(tf, net.params(), model.backbone());
    } else {
      Params params = new Params(tf);
      RestNetwork net = RestNetwork.buildBackbone(tf, model.backbone(), checked, List.of(0, 1, 2, 3), model.style(),
          params.prefixed(model.keyPrefix()), null);
      for (int i = 0; i < 4; i++) feats.add(tf.withName(stage(i)).identity(net.stage(i)));
      segLogits = null;
      classMap = null;
      loader = WeightLoader.create(tf, params, model.backbone());
    }
    features = List.copyOf(feats);
  }

  static DenseServingGraph build(Graph g, DenseExport model) {
    return new DenseServingGraph(g, model);
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
    Signature.Builder f = Signature.builder().key(FEATURES).methodName(PREDICT_METHOD).input(PIXEL_VALUES, pixelValues);
    for (int i = 0; i < features.size(); i++) f.output(stage(i), features.get(i));
    out.add(f.build());
    return out;
  }
}
