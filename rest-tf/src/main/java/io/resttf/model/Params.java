package io.resttf.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;

/**
 * The model's parameters and buffers as TF variables, keyed by official state_dict key, in creation
 * order. Every variable is created here from the {@link ParamSpec} its layer declares (kind, official
 * and TF shape), named by {@link WeightMapping#tfName}, so the graph, the loader, the initialisation and
 * the export back to a state_dict all read the same declaration.
 */
public final class Params {
  /** One TF variable and the declaration it was made from. */
  public record Param(ParamSpec spec, Variable<TFloat32> variable) {
    public String key() {
      return spec.key();
    }

    public ParamKind kind() {
      return spec.kind();
    }

    public long[] officialShape() {
      return spec.officialShape();
    }

    public long[] tfShape() {
      return spec.tfShape();
    }

    public String tfName() {
      return variable.op().name();
    }

    public long size() {
      return spec.size();
    }

    /** Parameters are trained; BatchNorm running statistics are buffers. */
    public boolean trainable() {
      return spec.trainable();
    }
  }

  private final Ops tf;
  private final Map<String, Param> params;
  /** Prepended to every declared key, e.g. "backbone." for a segmentor's backbone ("" at the top). */
  private final String keyPrefix;
  /** With bfloat16 copies: the ops that write every copy from its float32 variable (shared by views). */
  private final List<Op> copyUpdates;
  /** What {@link #add} returned for each key (shared by views), for a second build of the same layers. */
  private final Map<String, Operand<TFloat32>> reads;
  /** [0]: whether {@link #add} of a declared key returns its first read instead of failing (shared by views). */
  private final boolean[] reuse;

  /** Parameters created in {@code tf}'s graph (at its root: names are the official keys). */
  public Params(Ops tf) {
    this(tf, new LinkedHashMap<>(), "", null, new LinkedHashMap<>(), new boolean[1]);
  }

  /**
   * As {@link #Params(Ops)}; with {@code bf16Copies} the graph reads every MatMul and convolution weight from a
   * bfloat16 copy of its float32 variable, through a Cast back to float32. oneDNN's bfloat16 auto-mixed-precision
   * rewriter then feeds the bfloat16 copy straight to the bfloat16 kernel (it drops the Cast pair), where a
   * float32 weight would be cast again on every run (a third of restv2_tiny's time at batch 1). The float32
   * variables stay what is loaded, read back and exported; {@link #copyUpdates} must run after every change.
   */
  public Params(Ops tf, boolean bf16Copies) {
    this(tf, new LinkedHashMap<>(), "", bf16Copies ? new ArrayList<>() : null, new LinkedHashMap<>(), new boolean[1]);
  }

  private Params(Ops tf, Map<String, Param> params, String keyPrefix, List<Op> copyUpdates,
      Map<String, Operand<TFloat32>> reads, boolean[] reuse) {
    this.tf = tf;
    this.params = params;
    this.keyPrefix = keyPrefix;
    this.copyUpdates = copyUpdates;
    this.reads = reads;
    this.reuse = reuse;
  }

  /**
   * Runs {@code build} with declarations of existing keys answered by their first read: layers built a second
   * time (the same block on two halves of its rows) share the first build's variables. New keys are still
   * created.
   */
  <T> T reusing(java.util.function.Supplier<T> build) {
    boolean was = reuse[0];
    reuse[0] = true;
    try {
      return build.get();
    } finally {
      reuse[0] = was;
    }
  }

  /** Weights that bfloat16 copies are kept of: those of MatMuls and convolutions. */
  static final Set<ParamKind> COPIED_KINDS = Set.of(ParamKind.CONV, ParamKind.DEPTHWISE, ParamKind.LINEAR);

  /** Whether the graph reads bfloat16 copies of weights ({@link #Params(Ops, boolean)}). */
  public boolean hasBf16Copies() {
    return copyUpdates != null;
  }

  /** Writes every bfloat16 copy from its float32 variable in {@code session} (nothing without copies). */
  public void refreshCopies(org.tensorflow.Session session) {
    if (copyUpdates == null || copyUpdates.isEmpty()) return;
    org.tensorflow.Session.Runner r = session.runner();
    copyUpdates.forEach(r::addTarget);
    r.run().close();
  }

  /**
   * A view that adds its parameters to this same collection under {@code prefix} + the declared key:
   * a module nested in a larger model (mmseg's {@code backbone.}, {@code decode_head.}) declares its
   * keys as it would alone.
   */
  public Params prefixed(String prefix) {
    return new Params(tf, params, keyPrefix + prefix, copyUpdates, reads, reuse);
  }

  /** The full key of a key declared through this view. */
  public String keyOf(String declaredKey) {
    return keyPrefix + declaredKey;
  }

  /**
   * Creates the variable that {@code spec} declares (under this view's key prefix) and returns what the graph
   * reads: the variable, or with bfloat16 copies for a MatMul / convolution weight its copy cast to float32.
   */
  public Operand<TFloat32> add(ParamSpec declared) {
    ParamSpec spec = keyPrefix.isEmpty() ? declared : declared.withKey(keyPrefix + declared.key());
    if (params.containsKey(spec.key())) {
      if (reuse[0]) return reads.get(spec.key());
      throw new IllegalStateException("duplicate parameter " + spec.key());
    }
    String name = WeightMapping.tfName(spec.key())
        .orElseThrow(() -> new IllegalArgumentException(spec.key() + ": not a parameter key"));
    Variable<TFloat32> v = tf.withName(name).variable(Shape.of(spec.tfShape()), TFloat32.class);
    params.put(spec.key(), new Param(spec, v));
    Operand<TFloat32> read = v;
    if (copyUpdates != null && COPIED_KINDS.contains(spec.kind())) {
      Variable<TBfloat16> copy = tf.withName(name + BF16_COPY_SUFFIX).variable(Shape.of(spec.tfShape()), TBfloat16.class);
      copyUpdates.add(tf.assign(copy, tf.dtypes.cast(v, TBfloat16.class)));
      read = tf.dtypes.cast(copy, TFloat32.class);
    }
    reads.put(spec.key(), read);
    return read;
  }

  /** Name suffix of a weight's bfloat16 copy. */
  public static final String BF16_COPY_SUFFIX = "_bf16";

  public Map<String, Param> all() {
    return Collections.unmodifiableMap(params);
  }

  /** The declarations, in creation order. */
  public Map<String, ParamSpec> specs() {
    Map<String, ParamSpec> out = new LinkedHashMap<>();
    params.forEach((k, p) -> out.put(k, p.spec()));
    return Collections.unmodifiableMap(out);
  }

  /** Number of trainable parameters, as the official code counts them. */
  public long numParameters() {
    return params.values().stream().filter(Param::trainable).mapToLong(Param::size).sum();
  }
}
