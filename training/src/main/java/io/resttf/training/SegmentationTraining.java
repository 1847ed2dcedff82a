package io.resttf.training;

import io.resttf.model.Params;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.RestNetwork;
import io.resttf.model.SegmentationNetwork;
import io.resttf.model.UperNetConfig;
import io.resttf.model.WeightLoader;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.op.FrameworkOps;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * One training step of an mmseg segmentor (ResTv2 + UPerNet + FCN auxiliary head) as mmseg trains it: every
 * BatchNorm on batch statistics, the decode and auxiliary logits resized to the labels' size (bilinear,
 * align_corners False) and scored by per-pixel cross-entropy that ignores label 255, total = decode +
 * {@code auxWeight} · auxiliary (0.4 in the official configs), AdamW with decoupled weight decay on
 * every parameter whose key does not name a norm (the configs' {@code paramwise_cfg}), the learning rate
 * fed per step (the caller's poly schedule). Evaluation copies the weights into a {@link
 * io.resttf.model.SegmentationModel} (running statistics).
 */
public final class SegmentationTraining implements AutoCloseable {
  private final RestConfig backbone;
  private final UperNetConfig head;
  private final Graph graph;
  private final Session session;
  private final Placeholder<TFloat32> input;
  private final Placeholder<TInt32> labels;
  private final Placeholder<TFloat32> scalars;
  private final Operand<TFloat32> loss;
  private final Op trainOp;
  private final Op initSlots;
  private final WeightLoader loader;
  private final double weightDecay;
  private long t;

  private SegmentationTraining(RestConfig backbone, UperNetConfig head, double auxWeight, double weightDecay,
      ConfigProto sessionConfig) {
    this.backbone = backbone.validate();
    this.head = head.validate();
    this.weightDecay = weightDecay;
    this.graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      Ops in = tf.withSubScope("train");
      input = in.withName("pixel_values").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, backbone.inChans())));
      labels = in.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1, -1)));
      SegmentationNetwork net = SegmentationNetwork.build(tf, backbone, head, input, RestNetwork.Training.standard());
      Ops l = tf.withSubScope("loss");
      Operand<TInt32> size = l.stridedSlice(l.shape(labels), org.tensorflow.ndarray.index.Indices.slice(1, 3));
      Operand<TFloat32> decode = pixelLoss(l, net.headLogits(), labels, size, head.numClasses());
      Operand<TFloat32> total = decode;
      if (net.auxLogits() != null && auxWeight > 0) {
        total = l.math.add(decode, l.math.mul(pixelLoss(l, net.auxLogits(), labels, size, head.numClasses()),
            l.constant((float) auxWeight)));
      }
      loss = l.withName("total").identity(total);

      Map<String, Params.Param> params = net.params().all();
      List<Params.Param> trainable = params.values().stream().filter(Params.Param::trainable).toList();
      GradientSupport.ensureGradients(loss, trainable.stream().<Operand<?>>map(Params.Param::variable).toList());
      Output<?>[] xs = trainable.stream().map(p -> p.variable().asOutput()).toArray(Output<?>[]::new);
      Output<?>[] dys = graph.addGradients("gradients", new Output<?>[] {loss.asOutput()}, xs, null);

      Ops opt = tf.withSubScope("optimizer");
      scalars = in.withName("optimizer_scalars").placeholder(TFloat32.class, Placeholder.shape(Shape.of(TrainingGraph.StepScalars.SIZE)));
      List<org.tensorflow.Operation> gradientOps = new ArrayList<>();
      for (Output<?> dy : dys) if (dy != null) gradientOps.add(dy.op());
      AdamW adamW = AdamW.create(opt, scalars, 0.999, 1e-8, opt.withControlDependencyOps(gradientOps).withName("backward_done").noOp().op());
      for (int i = 0; i < xs.length; i++) {
        Params.Param p = trainable.get(i);
        if (dys[i] == null) throw new IllegalStateException("no gradient reaches " + p.key());
        @SuppressWarnings("unchecked")
        Operand<TFloat32> g = (Operand<TFloat32>) dys[i];
        adamW.apply(p.key(), p.variable(), p.tfShape(), g, weightDecay > 0 && !p.key().contains("norm"));
      }
      List<Op> updates = new ArrayList<>(adamW.updates());
      net.bufferUpdates().forEach((key, value) -> updates.add(opt.assign(params.get(key).variable(), value)));
      trainOp = tf.withControlDependencies(updates).withName("train_step").noOp();
      initSlots = tf.withControlDependencies(adamW.slotInits()).withName("init_slots").noOp();
      loader = WeightLoader.create(tf, net.params(), backbone);
      session = sessionConfig == null ? new Session(graph) : new Session(graph, sessionConfig);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** A segmentor's training graph; weights unset until {@link #load}. */
  public static SegmentationTraining create(RestConfig backbone, UperNetConfig head, double auxWeight, double weightDecay,
      ConfigProto sessionConfig) {
    return new SegmentationTraining(backbone, head, auxWeight, weightDecay, sessionConfig);
  }

  /** Mean cross-entropy over the pixels whose label is not 255, of logits resized to the labels' size. */
  private static Operand<TFloat32> pixelLoss(Ops l, Operand<TFloat32> logits, Operand<TInt32> labels, Operand<TInt32> size, int k) {
    Operand<TFloat32> up = l.image.resizeBilinear(logits, size, ResizeBilinear.alignCorners(false), ResizeBilinear.halfPixelCenters(true));
    Operand<TInt32> flat = l.reshape(labels, l.constant(new int[] {-1}));
    Operand<TFloat32> valid = l.dtypes.cast(l.math.notEqual(flat, l.constant(255)), TFloat32.class);
    Operand<TInt32> safe = l.select(l.math.notEqual(flat, l.constant(255)), flat, l.zerosLike(flat));
    Operand<TFloat32> ce = FrameworkOps.create(l).nn.sparseSoftmaxCrossEntropyWithLogits(safe, l.reshape(up, l.constant(new int[] {-1, k})));
    Operand<TFloat32> sum = l.reduceSum(l.math.mul(ce, valid), l.constant(0));
    return l.math.div(sum, l.math.maximum(l.reduceSum(valid, l.constant(0)), l.constant(1f)));
  }

  /** Loads weights (e.g. a backbone from a classification checkpoint, the rest fresh), then zeroes the optimizer. */
  public RestModel.LoadReport load(Map<String, HostTensor> stateDict, RestModel.LoadOptions options, long seed) {
    RestModel.LoadReport r = loader.load(session, stateDict, options, seed);
    session.runner().addTarget(initSlots).run();
    t = 0;
    return r;
  }

  /** One AdamW step on a batch (NHWC pixels [b, h, w, C], labels [b, h, w]) at learning rate {@code lr}; the loss. */
  public float step(float[] pixels, int[] labelValues, int b, int h, int w, double lr) {
    t++;
    float[] sc = new TrainingGraph.StepScalars(lr, 0.9, 0.999, t, weightDecay).toFeed();
    try (TFloat32 x = TFloat32.tensorOf(Shape.of(b, h, w, backbone.inChans()), DataBuffers.of(pixels, true, false));
        TInt32 y = TInt32.tensorOf(Shape.of(b, h, w), DataBuffers.of(labelValues, true, false));
        TFloat32 s = TFloat32.vectorOf(sc);
        Result r = session.runner().feed(input, x).feed(labels, y).feed(scalars, s).addTarget(trainOp).fetch(loss).run()) {
      float v = ((TFloat32) r.get(0)).getFloat();
      if (!Float.isFinite(v)) throw new TrainingDivergedException("segmentation loss is " + v + " at step " + t);
      return v;
    }
  }

  /** The current weights as an official mmseg state_dict. */
  public Map<String, HostTensor> stateDict() {
    return new LinkedHashMap<>(loader.stateDict(session));
  }

  public RestConfig backbone() {
    return backbone;
  }

  public UperNetConfig head() {
    return head;
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
