package io.resttf.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
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

  /** Parameters created in {@code tf}'s graph (at its root: names are the official keys). */
  public Params(Ops tf) {
    this(tf, new LinkedHashMap<>(), "");
  }

  private Params(Ops tf, Map<String, Param> params, String keyPrefix) {
    this.tf = tf;
    this.params = params;
    this.keyPrefix = keyPrefix;
  }

  /**
   * A view that adds its parameters to this same collection under {@code prefix} + the declared key:
   * a module nested in a larger model (mmseg's {@code backbone.}, {@code decode_head.}) declares its
   * keys as it would alone.
   */
  public Params prefixed(String prefix) {
    return new Params(tf, params, keyPrefix + prefix);
  }

  /** The full key of a key declared through this view. */
  public String keyOf(String declaredKey) {
    return keyPrefix + declaredKey;
  }

  /** Creates the variable that {@code spec} declares (under this view's key prefix). */
  public Variable<TFloat32> add(ParamSpec declared) {
    ParamSpec spec = keyPrefix.isEmpty() ? declared : declared.withKey(keyPrefix + declared.key());
    if (params.containsKey(spec.key())) throw new IllegalStateException("duplicate parameter " + spec.key());
    String name = WeightMapping.tfName(spec.key())
        .orElseThrow(() -> new IllegalArgumentException(spec.key() + ": not a parameter key"));
    Variable<TFloat32> v = tf.withName(name).variable(Shape.of(spec.tfShape()), TFloat32.class);
    params.put(spec.key(), new Param(spec, v));
    return v;
  }

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
