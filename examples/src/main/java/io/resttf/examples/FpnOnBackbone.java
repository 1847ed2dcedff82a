package io.resttf.examples;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.DenseCheckpoints;
import io.resttf.model.BackboneStyle;
import io.resttf.model.Params;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.RestNetwork;
import io.resttf.model.WeightLoader;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * A small feature pyramid network (detectron2's FPN: lateral 1×1 and output 3×3 convolutions, top-down
 * nearest-neighbour 2× upsampling and addition, P6 by max-pooling P5 with stride 2) on the ResT backbone's
 * four normed outputs, all in one TF Java graph: the backbone built by {@link RestNetwork#buildBackbone}
 * under the checkpoint's keys and filled from a detectron2 (or mmseg) checkpoint, the FPN's own variables
 * freshly initialised, ready to be trained with a detector head of your own.
 *
 * <pre>
 * java -cp "examples/target/rest-tf-examples-0.1.0-SNAPSHOT.jar:cli/target/lib/*" io.resttf.examples.FpnOnBackbone \
 *     model_final.pkl 256
 * </pre>
 */
public final class FpnOnBackbone {
  private FpnOnBackbone() {}

  /** The backbone's outputs C2..C5, the pyramid P2..P6, and what fills the backbone. */
  public record Pyramid(List<Operand<TFloat32>> backbone, List<Operand<TFloat32>> levels, WeightLoader backboneLoader) {}

  /**
   * Builds backbone + FPN on {@code images} (NHWC, sides multiples of 32) in {@code tf}'s graph: the
   * backbone's variables under {@code keyPrefix} (filled by {@link Pyramid#backboneLoader()}), the FPN's
   * initialised by {@code session.initialize()} (He-normal weights from {@code seed}, zero biases).
   */
  public static Pyramid build(Ops tf, RestConfig config, BackboneStyle style, String keyPrefix, Operand<TFloat32> images,
      int channels, long seed) {
    Params params = new Params(tf);
    RestNetwork backbone = RestNetwork.buildBackbone(tf, config, images, List.of(0, 1, 2, 3), style,
        params.prefixed(keyPrefix), null);
    WeightLoader loader = WeightLoader.create(tf, params, config);
    Ops fpn = tf.withSubScope("fpn");
    List<Operand<TFloat32>> c = new ArrayList<>(), laterals = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      c.add(backbone.stage(i));
      laterals.add(conv(fpn, "lateral" + (i + 2), backbone.stage(i), config.dim(i), channels, 1, seed + i));
    }
    // top-down: P5 = L5; P4 = L4 + up2(P5); ... (detectron2: nearest-neighbour upsampling)
    List<Operand<TFloat32>> merged = new ArrayList<>(laterals);
    for (int i = 2; i >= 0; i--) {
      Operand<TFloat32> up = fpn.image.resizeNearestNeighbor(merged.get(i + 1),
          fpn.stridedSlice(fpn.shape(merged.get(i)), org.tensorflow.ndarray.index.Indices.slice(1, 3)));
      merged.set(i, fpn.math.add(merged.get(i), up));
    }
    List<Operand<TFloat32>> levels = new ArrayList<>();
    for (int i = 0; i < 4; i++) levels.add(conv(fpn, "output" + (i + 2), merged.get(i), channels, channels, 3, seed + 10 + i));
    // P6: max-pool P5 with kernel 1, stride 2 (detectron2's LastLevelMaxPool)
    levels.add(fpn.nn.maxPool(levels.get(3), fpn.constant(new int[] {1, 1, 1, 1}), fpn.constant(new int[] {1, 2, 2, 1}), "VALID"));
    return new Pyramid(List.copyOf(c), List.copyOf(levels), loader);
  }

  /** A k×k conv with bias, SAME padding (stride 1: symmetric, as PyTorch's padding k/2), fresh He-normal weights. */
  private static Operand<TFloat32> conv(Ops tf, String name, Operand<TFloat32> x, int in, int out, int k, long seed) {
    Ops s = tf.withSubScope(name);
    Operand<TFloat32> init = s.math.mul(
        s.random.statelessRandomNormal(s.constant(new long[] {k, k, in, out}), s.constant(new long[] {seed, 0}), TFloat32.class),
        s.constant((float) Math.sqrt(2.0 / (k * k * in))));
    Variable<TFloat32> w = s.withName("weight").variable(init);
    Variable<TFloat32> b = s.withName("bias").variable(s.zeros(s.constant(new int[] {out}), TFloat32.class));
    return s.nn.biasAdd(s.nn.conv2d(x, w, List.of(1L, 1L, 1L, 1L), "SAME"), b);
  }

  public static void main(String[] args) {
    if (args.length < 1) {
      System.err.println("usage: FpnOnBackbone CHECKPOINT(.pth|.pkl, detectron2 or mmseg) [FPN_CHANNELS]");
      System.exit(2);
    }
    Path checkpoint = Path.of(args[0]);
    int channels = args.length > 1 ? Integer.parseInt(args[1]) : 256;
    Map<String, HostTensor> sd = CheckpointFiles.read(checkpoint, false, null).stateDict();
    RestConfig config;
    BackboneStyle style;
    String prefix;
    RestModel.LoadOptions load;
    if (ConfigDetector.isDetectron2(sd.keySet())) {
      ConfigDetector.BackboneDetection d = ConfigDetector.detectDetectron2(sd);
      config = d.backbone().config();
      style = d.style();
      prefix = d.keyPrefix();
      load = d.loadOptions();
    } else {
      config = ConfigDetector.detectSegmentation(sd).backbone().config();
      style = BackboneStyle.MMSEG;
      prefix = ConfigDetector.BACKBONE;
      load = DenseCheckpoints.backboneOfSegmentor();
    }
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> images = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, config.inChans())));
      Pyramid p = build(tf, config, style, prefix, images, channels, 0);
      try (Session session = new Session(g)) {
        session.initialize(); // the FPN's variables
        RestModel.LoadReport report = p.backboneLoader().load(session, sd, load, 0);
        System.out.println("backbone: " + report.loaded() + " tensors from " + checkpoint + ", " + report.fresh().size() + " fresh");
        float[] x = new float[2 * 224 * 320 * config.inChans()];
        java.util.SplittableRandom rng = new java.util.SplittableRandom(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        Session.Runner r = session.runner();
        try (TFloat32 in = TfTensors.toTf(HostTensor.ofFloats(new long[] {2, 224, 320, config.inChans()}, x))) {
          r.feed(images, in);
          p.levels().forEach(r::fetch);
          try (Result res = r.run()) {
            for (int i = 0; i < p.levels().size(); i++) {
              System.out.println("P" + (i + 2) + ": " + res.get(i).shape());
            }
          }
        }
      }
    }
  }
}
