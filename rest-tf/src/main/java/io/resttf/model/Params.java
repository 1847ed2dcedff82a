package io.resttf.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The model's parameters and buffers as TF variables, keyed by official state_dict key, in creation
 * (= official) order. Every variable is created here, named and shaped by {@link WeightMapping}, so the
 * graph cannot disagree with the mapping.
 */
public final class Params {
  /** One TF variable and where it comes from. */
  public record Param(String key, long[] officialShape, long[] tfShape, Variable<TFloat32> variable) {
    public String tfName() {
      return variable.op().name();
    }

    public long size() {
      long n = 1;
      for (long d : tfShape) n *= d;
      return n;
    }

    /** Parameters are trained; BatchNorm running statistics are buffers. */
    public boolean trainable() {
      return !key.endsWith(".running_mean") && !key.endsWith(".running_var");
    }
  }

  private final Ops tf;
  private final RestConfig config;
  private final Map<String, Param> params = new LinkedHashMap<>();

  Params(Ops tf, RestConfig config) {
    this.tf = tf;
    this.config = config;
  }

  /** Creates the variable for official key {@code key} of official shape {@code officialShape}. */
  Operand<TFloat32> get(String key, long... officialShape) {
    if (params.containsKey(key)) throw new IllegalStateException("duplicate parameter " + key);
    String name = WeightMapping.tfName(key).orElseThrow();
    long[] tfShape = WeightMapping.tfShape(key, officialShape, config);
    Variable<TFloat32> v = tf.withName(name).variable(Shape.of(tfShape), TFloat32.class);
    params.put(key, new Param(key, officialShape.clone(), tfShape, v));
    return v;
  }

  public Map<String, Param> all() {
    return Collections.unmodifiableMap(params);
  }

  /** Number of trainable parameters, as the official code counts them. */
  public long numParameters() {
    return params.values().stream().filter(Param::trainable).mapToLong(Param::size).sum();
  }
}
