package io.resttf.model;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
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
 * A ResT / ResTv2 network in its own graph and session: fill its weights from an official state_dict
 * (or fresh ones), run it on NHWC batches. Safe to share between threads for {@link #forward}; close it
 * to free the native graph and session.
 */
public final class RestModel implements AutoCloseable {
  /** Name of the input placeholder. */
  public static final String INPUT = "pixel_values";

  private final RestConfig config;
  private final Graph graph;
  private final Session session;
  private final RestNetwork network;
  private final WeightLoader loader;

  private RestModel(RestConfig config, ConfigProto sessionConfig) {
    this(config, sessionConfig, Precision.FP32);
  }

  private RestModel(RestConfig config, ConfigProto sessionConfig, Precision precision) {
    this.config = config.validate();
    // refuse a model whose weights cannot fit before a graph of its size is built
    ResourceEstimate.requireWeights("model", config);
    this.graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> input = tf.withName(INPUT)
          .placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, config.inChans())));
      this.network = RestNetwork.build(tf, config, input, null, precision == Precision.BF16);
      this.loader = WeightLoader.create(tf, network.params(), config);
      ConfigProto session = precision == Precision.FP32 ? sessionConfig : precision.sessionConfig(sessionConfig);
      this.session = session == null ? new Session(graph) : new Session(graph, session);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** Builds the graph for {@code config}; weights are unset until {@link #load} or {@link #initFresh}. */
  public static RestModel create(RestConfig config) {
    return new RestModel(config, null);
  }

  /** As {@link #create(RestConfig)} with session options (e.g. thread pools, see {@link #threads}). */
  public static RestModel create(RestConfig config, ConfigProto sessionConfig) {
    return new RestModel(config, sessionConfig);
  }

  /**
   * As {@link #create(RestConfig, ConfigProto)}, computing in {@code precision}. {@link Precision#BF16}: the
   * session runs oneDNN's bfloat16 rewriter and the graph reads every MatMul and convolution weight from a
   * bfloat16 copy, written at each load, so no weight is cast on a run ({@link Params#Params(Ops, boolean)}).
   * Such a model does not save or restore TF checkpoints; load it from a state_dict.
   */
  public static RestModel create(RestConfig config, ConfigProto sessionConfig, Precision precision) {
    return new RestModel(config, sessionConfig, precision);
  }

  /** Session options with {@code intraOp} threads per op and {@code interOp} ops in parallel (0 = TF's default). */
  public static ConfigProto threads(int intraOp, int interOp) {
    return ConfigProto.newBuilder()
        .setIntraOpParallelismThreads(intraOp)
        .setInterOpParallelismThreads(interOp)
        .build();
  }

  public RestConfig config() {
    return config;
  }

  public Graph graph() {
    return graph;
  }

  public Session session() {
    return session;
  }

  public RestNetwork network() {
    return network;
  }

  /** Fills every variable with the official initialisation (seeded). */
  public void initFresh(long seed) {
    load(Map.of(), LoadOptions.allowMissing(Pattern.compile(".*")), seed);
  }

  /** Loads an official state_dict strictly: every key must match a variable, every variable a key. */
  public LoadReport load(Map<String, HostTensor> stateDict) {
    return load(stateDict, LoadOptions.STRICT, 0);
  }

  /**
   * Loads an official state_dict (official keys and layouts). Keys matching {@code options.drop()} are
   * ignored; variables whose key matches {@code options.allowMissing()} and that the state_dict lacks
   * get a fresh initialisation. Anything else that is missing, unexpected or of the wrong shape is
   * refused with one {@link BadInputException} that lists all of it; nothing is assigned then.
   */
  public LoadReport load(Map<String, HostTensor> stateDict, LoadOptions options, long seed) {
    LoadReport report = loader.load(session, stateDict, options, seed);
    network.params().refreshCopies(session);
    return report;
  }

  /** Outputs of one forward pass: logits (null without a head) and the four NHWC stage maps. */
  public record Outputs(HostTensor logits, HostTensor pooled, List<HostTensor> stages) {}

  /** Runs the network on an NHWC float32 batch [B, H, W, in_chans]. */
  public Outputs forward(HostTensor nhwc) {
    checkInputShape(nhwc.shape(), config.inChans());
    long[] shape = nhwc.shape();
    ResourceEstimate.require("input " + Arrays.toString(shape), config, shape[0], shape[1], shape[2], false);
    List<Operand<TFloat32>> fetches = new ArrayList<>();
    if (network.logits() != null) fetches.add(network.logits());
    fetches.add(network.pooled());
    for (int i = 0; i < RestConfig.NUM_STAGES; i++) fetches.add(network.stage(i));
    try (TFloat32 in = TfTensors.toTf(nhwc)) {
      Session.Runner r = session.runner().feed(network.input(), in);
      fetches.forEach(r::fetch);
      try (Result res = r.run()) {
        List<HostTensor> out = new ArrayList<>();
        for (int i = 0; i < fetches.size(); i++) out.add(TfTensors.toHost((TFloat32) res.get(i)));
        HostTensor logits = network.logits() != null ? out.remove(0) : null;
        HostTensor pooled = out.remove(0);
        return new Outputs(logits, pooled, out);
      }
    }
  }

  /**
   * One block's branches for a batch, NHWC at the block's resolution: what entered its attention projection
   * ({@link RestNetwork.Branches}); a branch the model does not have is null.
   */
  public record BlockBranches(HostTensor attention, HostTensor upsample, HostTensor sum) {}

  /** Runs the network on a batch and returns every block's branches, by block ("stage1.0", …), in block order. */
  public java.util.Map<String, BlockBranches> branches(HostTensor nhwc) {
    checkInputShape(nhwc.shape(), config.inChans());
    long[] shape = nhwc.shape();
    ResourceEstimate.require("input " + Arrays.toString(shape), config, shape[0], shape[1], shape[2], false);
    List<Operand<TFloat32>> fetches = new ArrayList<>();
    List<int[]> slots = new ArrayList<>(); // per block: fetch index of attention, upsample, sum (-1 = none)
    for (RestNetwork.Branches b : network.branches().values()) {
      int[] slot = new int[3];
      List<Operand<TFloat32>> parts = Arrays.asList(b.attention(), b.upsample(), b.sum()); // nulls: branches it lacks
      for (int i = 0; i < 3; i++) {
        Operand<TFloat32> op = parts.get(i);
        // without an upsample branch the sum is the attention branch: one fetch for both (TF refuses a repeat)
        int seen = op == null ? -1 : fetches.indexOf(op);
        slot[i] = op == null ? -1 : seen >= 0 ? seen : fetches.size();
        if (op != null && seen < 0) fetches.add(op);
      }
      slots.add(slot);
    }
    try (TFloat32 in = TfTensors.toTf(nhwc)) {
      Session.Runner r = session.runner().feed(network.input(), in);
      fetches.forEach(r::fetch);
      try (Result res = r.run()) {
        java.util.Map<String, BlockBranches> out = new java.util.LinkedHashMap<>();
        int i = 0;
        for (String block : network.branches().keySet()) {
          int[] slot = slots.get(i++);
          HostTensor[] t = new HostTensor[3];
          for (int k = 0; k < 3; k++) t[k] = slot[k] < 0 ? null : TfTensors.toHost((TFloat32) res.get(slot[k]));
          out.put(block, new BlockBranches(t[0], t[1], t[2]));
        }
        return out;
      }
    }
  }

  /**
   * Refuses inputs the network cannot take, with the reason: not 4-D, wrong channel count, or H, W
   * not positive multiples of 32 (the official code crashes on those).
   */
  public static void checkInputShape(long[] shape, int inChans) {
    if (shape.length != 4) {
      throw new BadInputException("input must be 4-D [batch, height, width, channels], got shape " + Arrays.toString(shape));
    }
    if (shape[3] != inChans) {
      throw new BadInputException("input has " + shape[3] + " channels but the model takes " + inChans + " (shape " + Arrays.toString(shape) + ")");
    }
    if (shape[0] < 1) throw new BadInputException("input batch is empty (shape " + Arrays.toString(shape) + ")");
    for (int i = 1; i <= 2; i++) {
      long d = shape[i];
      if (d < RestConfig.STRIDE || d % RestConfig.STRIDE != 0) {
        throw new BadInputException("input " + (i == 1 ? "height" : "width") + " " + d
            + " must be a multiple of 32 and at least 32 (shape " + Arrays.toString(shape) + ")");
      }
    }
  }

  /** Current variable values in the official layout and key order, e.g. to save a state_dict. */
  public Map<String, HostTensor> stateDict() {
    return loader.stateDict(session);
  }

  /**
   * Writes every variable as a TF checkpoint (Saver V2 format: {@code prefix.index},
   * {@code prefix.data-00000-of-00001}), loadable with {@link #restoreCheckpoint} or
   * {@code Session.restore}. Variable names are the official keys, values in TF layout.
   */
  public synchronized void saveCheckpoint(java.nio.file.Path prefix) {
    refuseCheckpointsWithCopies();
    session.save(prefix.toString());
  }

  /** Restores every variable from a checkpoint written by {@link #saveCheckpoint} for the same config. */
  public synchronized void restoreCheckpoint(java.nio.file.Path prefix) {
    refuseCheckpointsWithCopies();
    if (!java.nio.file.Files.exists(java.nio.file.Path.of(prefix + ".index"))) {
      throw new BadInputException(prefix + ".index: no such TF checkpoint");
    }
    try {
      session.restore(prefix.toString());
    } catch (org.tensorflow.exceptions.TensorFlowException e) {
      throw new BadInputException(prefix + ": TF checkpoint does not fit the model ("
          + e.getMessage().lines().findFirst().orElse("") + ")");
    }
  }

  private void refuseCheckpointsWithCopies() {
    if (network.params().hasBf16Copies()) {
      throw new BadInputException("a bfloat16 model keeps weight copies that TF checkpoints do not hold: "
          + "save and restore checkpoints with a float32 model, load a bfloat16 one from a state_dict");
    }
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }

  /** What a load did. {@code fresh}: variables that kept a fresh initialisation; {@code dropped}: ignored keys. */
  public record LoadReport(int loaded, List<String> fresh, List<String> dropped) {}

  /** @param drop checkpoint keys to ignore; @param allowMissing variables that may be absent (fresh init) */
  public record LoadOptions(Pattern drop, Pattern allowMissing) {
    public static final LoadOptions STRICT = new LoadOptions(null, null);

    public static LoadOptions allowMissing(Pattern p) {
      return new LoadOptions(null, p);
    }

    /** A variable the checkpoint lacks may keep a fresh initialisation: allowed missing, or dropped. */
    public boolean mayStayFresh(String key) {
      return (allowMissing != null && allowMissing.matcher(key).matches())
          || (drop != null && drop.matcher(key).matches());
    }
  }
}
