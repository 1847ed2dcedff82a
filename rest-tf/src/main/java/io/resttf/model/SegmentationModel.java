package io.resttf.model;

import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;

/**
 * A ResTv2 + UPerNet segmentor ({@link SegmentationNetwork}) in its own graph and session: fill it from
 * an official mmseg state_dict ({@code backbone.*}, {@code decode_head.*}, {@code auxiliary_head.*}),
 * run it on NHWC batches (mmseg's whole-image inference). Safe to share between threads for
 * {@link #forward}; close it to free the native graph and session.
 */
public final class SegmentationModel implements AutoCloseable {
  private final RestConfig backboneConfig;
  private final UperNetConfig headConfig;
  private final Graph graph;
  private final Session session;
  private final SegmentationNetwork network;
  private final WeightLoader loader;

  private SegmentationModel(RestConfig backboneConfig, UperNetConfig headConfig, ConfigProto sessionConfig) {
    this.backboneConfig = backboneConfig.validate();
    this.headConfig = headConfig.validate();
    ResourceEstimate.requireWeights("model", backboneConfig);
    this.graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> input = tf.withName(RestModel.INPUT)
          .placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, backboneConfig.inChans())));
      this.network = SegmentationNetwork.build(tf, backboneConfig, headConfig, input);
      this.loader = WeightLoader.create(tf, network.params(), backboneConfig);
      this.session = sessionConfig == null ? new Session(graph) : new Session(graph, sessionConfig);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  public static SegmentationModel create(RestConfig backboneConfig, UperNetConfig headConfig) {
    return new SegmentationModel(backboneConfig, headConfig, null);
  }

  public static SegmentationModel create(RestConfig backboneConfig, UperNetConfig headConfig, ConfigProto sessionConfig) {
    return new SegmentationModel(backboneConfig, headConfig, sessionConfig);
  }

  public RestConfig backboneConfig() {
    return backboneConfig;
  }

  public UperNetConfig headConfig() {
    return headConfig;
  }

  public SegmentationNetwork network() {
    return network;
  }

  public Graph graph() {
    return graph;
  }

  public Session session() {
    return session;
  }

  /** Fills every variable with a fresh initialisation (seeded). */
  public void initFresh(long seed) {
    load(Map.of(), RestModel.LoadOptions.allowMissing(java.util.regex.Pattern.compile(".*")), seed);
  }

  /** Loads an official mmseg state_dict strictly: every key must match a variable, every variable a key. */
  public RestModel.LoadReport load(Map<String, HostTensor> stateDict) {
    return load(stateDict, RestModel.LoadOptions.STRICT, 0);
  }

  /** As {@link RestModel#load(Map, RestModel.LoadOptions, long)}, on the segmentor's keys. */
  public RestModel.LoadReport load(Map<String, HostTensor> stateDict, RestModel.LoadOptions options, long seed) {
    return loader.load(session, stateDict, options, seed);
  }

  /** The variables' current values as an official mmseg state_dict. */
  public Map<String, HostTensor> stateDict() {
    return loader.stateDict(session);
  }

  /**
   * One whole-image pass: {@code segLogits} [B,H,W,K] at the input size, the four normed backbone
   * outputs (NHWC), and the auxiliary head's logits at stride 16 (null without one).
   */
  public record Outputs(HostTensor segLogits, List<HostTensor> features, HostTensor auxLogits) {}

  /** Runs the segmentor on an NHWC float32 batch [B, H, W, in_chans], H and W multiples of 32. */
  public Outputs forward(HostTensor nhwc) {
    RestModel.checkInputShape(nhwc.shape(), backboneConfig.inChans());
    long[] shape = nhwc.shape();
    ResourceEstimate.require("input " + Arrays.toString(shape), backboneConfig, shape[0], shape[1], shape[2], false);
    List<Operand<TFloat32>> fetches = new ArrayList<>();
    fetches.add(network.segLogits());
    for (int i = 0; i < SegmentationNetwork.OUT_INDICES.size(); i++) fetches.add(network.feature(i));
    if (network.auxLogits() != null) fetches.add(network.auxLogits());
    try (TFloat32 in = TfTensors.toTf(nhwc)) {
      Session.Runner r = session.runner().feed(network.input(), in);
      fetches.forEach(r::fetch);
      try (Result res = r.run()) {
        List<HostTensor> out = new ArrayList<>();
        for (int i = 0; i < fetches.size(); i++) out.add(TfTensors.toHost((TFloat32) res.get(i)));
        HostTensor seg = out.remove(0);
        HostTensor aux = network.auxLogits() != null ? out.remove(out.size() - 1) : null;
        return new Outputs(seg, List.copyOf(out), aux);
      }
    }
  }

  /** mmseg's sliding-window test settings of the official ADE20K configs: 512² crops every 341 pixels. */
  public static final int DEFAULT_CROP = 512, DEFAULT_STRIDE = 341;

  /** The seg logits [B,H,W,K] of the whole image at once (mmseg's {@code whole} mode). */
  public HostTensor wholeLogits(HostTensor nhwc) {
    return forwardLogits(nhwc);
  }

  /**
   * mmseg's {@code slide} mode (EncoderDecoder.slide_inference): crops of {@code crop}² every {@code stride}
   * pixels, the last row and column of crops moved back to end at the border, each crop's seg logits
   * added at its place and divided by how many crops cover each pixel. A side shorter than the crop
   * is taken whole. Every crop side must be a multiple of 32, as any input.
   */
  public HostTensor slideLogits(HostTensor nhwc, int crop, int stride) {
    RestModel.checkInputShape(nhwc.shape(), backboneConfig.inChans());
    return SlideInference.slide(nhwc, crop, stride, headConfig.numClasses(), this::forwardLogits);
  }

  private HostTensor forwardLogits(HostTensor nhwc) {
    RestModel.checkInputShape(nhwc.shape(), backboneConfig.inChans());
    long[] shape = nhwc.shape();
    ResourceEstimate.require("input " + Arrays.toString(shape), backboneConfig, shape[0], shape[1], shape[2], false);
    try (TFloat32 in = TfTensors.toTf(nhwc);
        Result res = session.runner().feed(network.input(), in).fetch(network.segLogits()).run()) {
      return TfTensors.toHost((TFloat32) res.get(0));
    }
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
