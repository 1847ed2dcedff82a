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
    if (crop < RestConfig.STRIDE || crop % RestConfig.STRIDE != 0) {
      throw new io.resttf.tensor.BadInputException("crop size " + crop + " must be a multiple of 32 and at least 32");
    }
    if (stride < 1 || stride > crop) {
      throw new io.resttf.tensor.BadInputException("slide stride " + stride + " must be in 1.." + crop + " (the crop size)");
    }
    RestModel.checkInputShape(nhwc.shape(), backboneConfig.inChans());
    long[] shape = nhwc.shape();
    int b = (int) shape[0], h = (int) shape[1], w = (int) shape[2], c = (int) shape[3];
    int k = headConfig.numClasses();
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
        float[] logits = forwardLogits(HostTensor.ofFloats(new long[] {b, ch, cw, c}, part)).toFloats();
        for (int n = 0; n < b; n++) {
          for (int y = 0; y < ch; y++) {
            for (int x = 0; x < cw; x++) {
              int from = ((n * ch + y) * cw + x) * k, to = ((n * h + y1 + y) * w + x1 + x) * k;
              for (int j = 0; j < k; j++) preds[to + j] += logits[from + j];
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
