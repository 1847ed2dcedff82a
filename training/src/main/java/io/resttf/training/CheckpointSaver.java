package io.resttf.training;

import io.resttf.tensor.BadInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * Saves and restores a fixed set of float variables as one TF V2 checkpoint (SaveV2 / RestoreV2 with
 * the given names), as tf.train.Saver does. Input: the variables by checkpoint name (that order is the
 * checkpoint's); the prefix is fed per call. Output: {@link #save} and {@link #restore}.
 */
final class CheckpointSaver {
  private final Map<String, Variable<TFloat32>> variables;
  private final Placeholder<TString> prefix;
  private final Op saveOp;
  private final Op restoreOp;

  private CheckpointSaver(Map<String, Variable<TFloat32>> variables, Placeholder<TString> prefix, Op saveOp, Op restoreOp) {
    this.variables = variables;
    this.prefix = prefix;
    this.saveOp = saveOp;
    this.restoreOp = restoreOp;
  }

  /** The save and restore ops in {@code ck}'s scope, for {@code variables} (checkpoint name → variable). */
  static CheckpointSaver create(Ops tf, Ops ck, Map<String, Variable<TFloat32>> variables) {
    Placeholder<TString> prefix = ck.withName("prefix").placeholder(TString.class, Placeholder.shape(Shape.scalar()));
    String[] names = variables.keySet().toArray(new String[0]);
    String[] slices = new String[names.length];
    Arrays.fill(slices, "");
    Operand<TString> nameConst = ck.constant(StandardCharsets.UTF_8, names);
    Operand<TString> sliceConst = ck.constant(StandardCharsets.UTF_8, slices);
    Op save = ck.train.save(prefix, nameConst, sliceConst, new ArrayList<Operand<?>>(variables.values()));
    List<Class<? extends TType>> dtypes = Collections.nCopies(names.length, TFloat32.class);
    var restored = ck.train.restore(prefix, nameConst, sliceConst, dtypes);
    List<Op> assigns = new ArrayList<>();
    int i = 0;
    for (Variable<TFloat32> v : variables.values()) {
      @SuppressWarnings("unchecked")
      Operand<TFloat32> t = (Operand<TFloat32>) restored.tensors().get(i++);
      assigns.add(ck.assign(v, t));
    }
    Op restore = tf.withControlDependencies(assigns).withName("restore_all").noOp();
    return new CheckpointSaver(Collections.unmodifiableMap(new LinkedHashMap<>(variables)), prefix, save, restore);
  }

  /** Names of the tensors in the checkpoint, in order. */
  Set<String> names() {
    return variables.keySet();
  }

  /** The variables by checkpoint name, in checkpoint order. */
  Map<String, Variable<TFloat32>> variables() {
    return variables;
  }

  /** Writes every variable as a TF V2 checkpoint at {@code path} ({@code path.index}, {@code path.data-*}). */
  void save(Session session, Path path) {
    try (TString p = TString.scalarOf(path.toString())) {
      session.runner().feed(prefix, p).addTarget(saveOp).run();
    }
  }

  /** Restores what {@link #save} wrote; a checkpoint of another graph is refused with TF's reason. */
  void restore(Session session, Path path) {
    if (!Files.isRegularFile(Path.of(path + ".index"))) {
      throw new BadInputException(path + ".index: no such checkpoint");
    }
    try (TString p = TString.scalarOf(path.toString())) {
      session.runner().feed(prefix, p).addTarget(restoreOp).run();
    } catch (TensorFlowException e) {
      throw new BadInputException(path + ": checkpoint does not fit this training graph ("
          + e.getMessage().lines().findFirst().orElse("") + ")");
    }
  }
}
