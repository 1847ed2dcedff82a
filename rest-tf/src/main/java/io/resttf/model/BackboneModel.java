package io.resttf.model;

import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;

/**
 * A dense-prediction backbone ({@link RestNetwork#buildBackbone}) in its own graph and session, its
 * parameters under an official checkpoint's key prefix (e.g. detectron2's {@code backbone.bottom_up.}):
 * fill it from that checkpoint, run it on NHWC batches, get the four normed feature maps (strides 4–32),
 * the input of an FPN. Safe to share between threads for {@link #forward}; close it to free the native
 * graph and session.
 */
public final class BackboneModel implements AutoCloseable {
  private final RestConfig config;
  private final BackboneStyle style;
  private final String keyPrefix;
  private final Graph graph;
  private final Session session;
  private final RestNetwork network;
  private final WeightLoader loader;

  private BackboneModel(RestConfig config, BackboneStyle style, String keyPrefix, ConfigProto sessionConfig) {
    this.config = config.validate();
    this.style = style;
    this.keyPrefix = keyPrefix;
    ResourceEstimate.requireWeights("model", config);
    this.graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> input = tf.withName(RestModel.INPUT)
          .placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, config.inChans())));
      Params params = new Params(tf);
      this.network = RestNetwork.buildBackbone(tf, config, input, List.of(0, 1, 2, 3), style, params.prefixed(keyPrefix), null);
      this.loader = WeightLoader.create(tf, params, config);
      this.session = sessionConfig == null ? new Session(graph) : new Session(graph, sessionConfig);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** {@code config}'s backbone in {@code style}, parameters keyed {@code keyPrefix} + the module's key. */
  public static BackboneModel create(RestConfig config, BackboneStyle style, String keyPrefix, ConfigProto sessionConfig) {
    return new BackboneModel(config, style, keyPrefix, sessionConfig);
  }

  public RestConfig config() {
    return config;
  }

  public BackboneStyle style() {
    return style;
  }

  public String keyPrefix() {
    return keyPrefix;
  }

  public RestNetwork network() {
    return network;
  }

  /** As {@link RestModel#load(Map, RestModel.LoadOptions, long)}, on this backbone's (prefixed) keys. */
  public RestModel.LoadReport load(Map<String, HostTensor> stateDict, RestModel.LoadOptions options, long seed) {
    return loader.load(session, stateDict, options, seed);
  }

  /** The four outputs (after their norms), NHWC, for an NHWC float32 batch whose sides are multiples of 32. */
  public List<HostTensor> forward(HostTensor nhwc) {
    RestModel.checkInputShape(nhwc.shape(), config.inChans());
    long[] shape = nhwc.shape();
    ResourceEstimate.require("input " + Arrays.toString(shape), config, shape[0], shape[1], shape[2], false);
    try (TFloat32 in = TfTensors.toTf(nhwc)) {
      Session.Runner r = session.runner().feed(network.input(), in);
      for (int i = 0; i < network.numStages(); i++) r.fetch(network.stage(i));
      try (Result res = r.run()) {
        List<HostTensor> out = new ArrayList<>();
        for (int i = 0; i < network.numStages(); i++) out.add(TfTensors.toHost((TFloat32) res.get(i)));
        return List.copyOf(out);
      }
    }
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
