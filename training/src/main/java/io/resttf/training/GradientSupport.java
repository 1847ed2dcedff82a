package io.resttf.training;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.TensorFlow;
import org.tensorflow.op.Ops;
import org.tensorflow.op.RawCustomGradient;
import org.tensorflow.types.TFloat32;

/**
 * Makes sure every op between the trainable variables and the loss has a gradient before
 * {@link Graph#addGradients} is called: TensorFlow's C++ gradient registry covers most ops, and the
 * ops it lacks that a training graph here can contain get their gradient from Java
 * ({@link TensorFlow#registerCustomGradient}), registered at most once per process. An op type with
 * neither is refused at graph build, by name, instead of failing deep inside the native gradient
 * builder.
 *
 * <p>Java gradients (tested against finite differences):
 * <ul>
 *   <li>{@code SparseSoftmaxCrossEntropyWithLogits} (the hard-label loss): d/dlogits = dloss · (softmax −
 *       onehot), which is the op's own second output; the integer labels get a zero gradient;
 *   <li>{@code StatelessRandomUniform(V2)} (dropout masks, which lie on a path from the variables to the
 *       loss through the shape of the activations): not differentiable, zero for the integer shape and
 *       seed inputs, as TensorFlow's Python registers them;
 *   <li>{@code Range} (patch indices of the training convolutions, computed from the input's shape): not
 *       differentiable, as in TensorFlow's Python.
 * </ul>
 */
public final class GradientSupport {
  private GradientSupport() {}

  /** The Java gradients this module can supply, by op type. */
  private static final Map<String, RawCustomGradient> JAVA_GRADIENTS = new LinkedHashMap<>();

  static {
    JAVA_GRADIENTS.put("SparseSoftmaxCrossEntropyWithLogits", GradientSupport::sparseSoftmaxXentGrad);
    // Dropout masks: the random values depend on the (integer) shape and seed only; TF's Python side
    // declares these ops NotDifferentiable, the C++ registry has nothing for them.
    JAVA_GRADIENTS.put("StatelessRandomUniform", GradientSupport::notDifferentiable);
    JAVA_GRADIENTS.put("StatelessRandomUniformV2", GradientSupport::notDifferentiable);
    // Training convolutions gather their patches with indices computed from the input's shape
    // (RestNetwork's patches × weights form); integer ranges carry no gradient (Python: NotDifferentiable).
    JAVA_GRADIENTS.put("Range", GradientSupport::notDifferentiable);
  }

  /** What {@link #ensureGradients} found and did. */
  public record Report(Set<String> opTypes, List<String> registeredInJava, List<String> alreadyAvailable) {}

  /** Op types for which the Java side supplies a gradient when TensorFlow has none. */
  public static Set<String> javaGradientTypes() {
    return Collections.unmodifiableSet(JAVA_GRADIENTS.keySet());
  }

  /** TensorFlow's own (package-private) registry lookup: C++ gradients and registered Java ones. */
  public static boolean hasGradient(String opType) {
    try {
      Method m = TensorFlow.class.getDeclaredMethod("hasGradient", String.class);
      m.setAccessible(true);
      return (Boolean) m.invoke(null, opType);
    } catch (NoSuchMethodException | IllegalAccessException e) {
      throw new IllegalStateException("this TensorFlow Java has no TensorFlow.hasGradient(String)", e);
    } catch (InvocationTargetException e) {
      throw new IllegalStateException("TensorFlow.hasGradient(" + opType + ") failed", e.getCause());
    }
  }

  /**
   * Ensures a gradient for every op type on a path from one of {@code sources} to {@code loss}
   * (the ops {@code addGradients(loss, sources)} differentiates): registers the Java gradient of each
   * that TensorFlow lacks; refuses (IllegalStateException) an op type that has none anywhere.
   */
  public static synchronized Report ensureGradients(Operand<?> loss, Collection<? extends Operand<?>> sources) {
    Set<String> types = new TreeSet<>();
    Set<String> floatTypes = new HashSet<>();
    for (GraphOperation op : differentiatedOps(loss, sources)) {
      types.add(op.type());
      if (hasFloatOutput(op)) floatTypes.add(op.type());
    }
    List<String> registered = new ArrayList<>(), available = new ArrayList<>(), missing = new ArrayList<>();
    for (String type : types) {
      if (hasGradient(type)) {
        available.add(type);
      } else if (JAVA_GRADIENTS.containsKey(type)) {
        TensorFlow.registerCustomGradient(type, JAVA_GRADIENTS.get(type));
        if (!hasGradient(type)) throw new IllegalStateException("registering the Java gradient of " + type + " failed");
        registered.add(type);
      } else if (floatTypes.contains(type)) {
        missing.add(type);
      } // integer-only ops (the Shape arithmetic of adaptive pooling) carry no gradient: TF's builder stops before them

    }
    if (!missing.isEmpty()) {
      throw new IllegalStateException("no gradient (C++ or Java) for op types " + missing + " in the training graph");
    }
    return new Report(Collections.unmodifiableSet(types), List.copyOf(registered), List.copyOf(available));
  }

  /** Registers the Java gradient of {@code opType} if TensorFlow has none; true if it is available now. */
  public static synchronized boolean ensureGradient(String opType) {
    if (hasGradient(opType)) return true;
    RawCustomGradient g = JAVA_GRADIENTS.get(opType);
    if (g == null) return false;
    TensorFlow.registerCustomGradient(opType, g);
    return hasGradient(opType);
  }

  /**
   * The ops that lie on a path from a source to {@code loss}, sources excluded: reachable backwards
   * from the loss through data inputs, and forwards from a source through consumers.
   */
  static Set<GraphOperation> differentiatedOps(Operand<?> loss, Collection<? extends Operand<?>> sources) {
    Set<GraphOperation> upstream = new HashSet<>();
    Deque<GraphOperation> todo = new ArrayDeque<>();
    GraphOperation root = (GraphOperation) loss.op();
    upstream.add(root);
    todo.add(root);
    while (!todo.isEmpty()) {
      GraphOperation op = todo.poll();
      for (Operand<?> in : op.inputs()) {
        GraphOperation p = (GraphOperation) in.op();
        if (upstream.add(p)) todo.add(p);
      }
    }
    Set<GraphOperation> srcOps = new HashSet<>();
    for (Operand<?> s : sources) srcOps.add((GraphOperation) s.op());
    Set<GraphOperation> downstream = new HashSet<>(srcOps);
    todo.addAll(srcOps);
    while (!todo.isEmpty()) {
      GraphOperation op = todo.poll();
      for (GraphOperation c : op.consumers()) {
        if (upstream.contains(c) && downstream.add(c)) todo.add(c);
      }
    }
    downstream.removeAll(srcOps);
    return downstream;
  }

  private static boolean hasFloatOutput(GraphOperation op) {
    for (int i = 0; i < op.numOutputs(); i++) {
      org.tensorflow.proto.DataType t = op.output(i).dataType();
      if (t == org.tensorflow.proto.DataType.DT_FLOAT || t == org.tensorflow.proto.DataType.DT_DOUBLE
          || t == org.tensorflow.proto.DataType.DT_HALF || t == org.tensorflow.proto.DataType.DT_BFLOAT16
          || t == org.tensorflow.proto.DataType.DT_RESOURCE || t == org.tensorflow.proto.DataType.DT_VARIANT) {
        return true;
      }
    }
    return op.numOutputs() == 0;
  }

  // ---- Java gradients ----

  /** outputs: loss [B], backprop [B, K] = softmax − onehot; inputs: features [B, K], labels [B]. */
  @SuppressWarnings("unchecked")
  static List<Operand<?>> sparseSoftmaxXentGrad(Ops tf, GraphOperation op, List<Output<?>> grads) {
    Operand<TFloat32> dLoss = (Operand<TFloat32>) grads.get(0);
    Operand<TFloat32> backprop = (Operand<TFloat32>) (Operand<?>) op.output(1);
    Operand<TFloat32> dLogits = tf.math.mul(tf.expandDims(dLoss, tf.constant(-1)), backprop);
    Operand<?> labels = op.input(1);
    return List.of(dLogits, tf.zerosLike(labels));
  }

  /** Zero gradients for every (integer) input of an op whose output does not depend on them smoothly. */
  static List<Operand<?>> notDifferentiable(Ops tf, GraphOperation op, List<Output<?>> grads) {
    List<Operand<?>> out = new ArrayList<>();
    for (int i = 0; i < op.numInputs(); i++) out.add(tf.zerosLike(op.input(i)));
    return out;
  }
}
