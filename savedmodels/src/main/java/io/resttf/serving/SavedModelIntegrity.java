package io.resttf.serving;

import io.resttf.tensor.BadInputException;
import io.resttf.util.ErrorText;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operation;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBool;

/**
 * Checks that a SavedModel version directory is whole before and after TensorFlow loads it. TF's loader
 * skips the restore when {@code variables/variables.index} is missing and leaves every variable
 * uninitialised, so a broken export would load and fail only at its first call; here it is refused with
 * one line naming what is missing.
 */
public final class SavedModelIntegrity {
  private SavedModelIntegrity() {}

  static final String GRAPH_FILE = "saved_model.pb";
  static final String VARIABLES = "variables";
  static final String INDEX = "variables.index";
  private static final Pattern SHARD = Pattern.compile("variables\\.data-(\\d{5})-of-(\\d{5})");
  /** Most variable names listed in a refusal; the count says how many more. */
  private static final int LISTED = 3;

  /**
   * Refuses (BadInputException) a version directory whose graph, index or data shards are missing or
   * unreadable; the shard count is read from the data files' names ({@code variables.data-00000-of-0000N}).
   */
  public static void checkFiles(Path versionDir) {
    readable(versionDir, versionDir.resolve(GRAPH_FILE), GRAPH_FILE);
    Path vars = versionDir.resolve(VARIABLES);
    if (!Files.isDirectory(vars)) throw broken(versionDir, VARIABLES + "/ is missing (the weights)");
    readable(versionDir, vars.resolve(INDEX), VARIABLES + "/" + INDEX);
    TreeSet<Integer> present = new TreeSet<>();
    TreeSet<Integer> counts = new TreeSet<>();
    try (Stream<Path> s = Files.list(vars)) {
      for (Iterator<Path> it = s.iterator(); it.hasNext(); ) {
        Matcher m = SHARD.matcher(it.next().getFileName().toString());
        if (m.matches()) {
          present.add(Integer.parseInt(m.group(1)));
          counts.add(Integer.parseInt(m.group(2)));
        }
      }
    } catch (IOException e) {
      throw broken(versionDir, "cannot list " + VARIABLES + "/ (" + ErrorText.reason(e) + ")");
    }
    if (counts.isEmpty()) throw broken(versionDir, VARIABLES + "/" + VARIABLES + ".data-* is missing (the weights)");
    if (counts.size() > 1) throw broken(versionDir, VARIABLES + "/ mixes data shards of " + counts + " shards");
    int n = counts.first();
    if (n < 1) throw broken(versionDir, VARIABLES + "/ names a data shard count of 0");
    for (int i = 0; i < n; i++) {
      String name = String.format("%s.data-%05d-of-%05d", VARIABLES, i, n);
      if (!present.contains(i)) throw broken(versionDir, VARIABLES + "/" + name + " is missing");
      readable(versionDir, vars.resolve(name), VARIABLES + "/" + name);
    }
  }

  /** Names of the variables of {@code bundle}'s graph that the restore left uninitialised (empty when whole). */
  public static List<String> uninitialized(SavedModelBundle bundle) {
    return uninitialized(bundle.graph(), bundle.session());
  }

  static List<String> uninitialized(Graph graph, Session session) {
    List<String> names = new ArrayList<>();
    List<Operation> variables = new ArrayList<>();
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.type().equals("VariableV2")) variables.add(op);
    }
    if (variables.isEmpty()) return names;
    // The check ops live in a scope of their own, so they never collide with the export's names.
    Ops tf = Ops.create(graph).withSubScope("rest_tf_integrity_check");
    Session.Runner runner = session.runner();
    for (Operation v : variables) runner.fetch(tf.isVariableInitialized(v.output(0)));
    try (Result r = runner.run()) {
      for (int i = 0; i < variables.size(); i++) {
        if (!((TBool) r.get(i)).getBoolean()) names.add(variables.get(i).name());
      }
    }
    return names;
  }

  /**
   * Loads a SavedModel after {@link #checkFiles} and verifies that every variable was restored; TF's
   * failures become one-line BadInputExceptions naming the directory.
   */
  public static SavedModelBundle load(Path versionDir, Supplier<SavedModelBundle> loader) {
    checkFiles(versionDir);
    SavedModelBundle bundle;
    try {
      bundle = loader.get();
    } catch (TensorFlowException | IllegalArgumentException e) {
      throw new BadInputException(versionDir + ": cannot load the SavedModel (" + ErrorText.tensorFlow(e.getMessage()) + ")", e);
    }
    try {
      List<String> missing = uninitialized(bundle);
      if (!missing.isEmpty()) {
        throw broken(versionDir, missing.size() + " variables were not restored from " + VARIABLES + "/ ("
            + String.join(", ", missing.subList(0, Math.min(LISTED, missing.size())))
            + (missing.size() > LISTED ? ", …" : "") + ")");
      }
      return bundle;
    } catch (RuntimeException e) {
      bundle.close();
      throw e;
    }
  }

  private static void readable(Path versionDir, Path file, String what) {
    if (!Files.exists(file)) throw broken(versionDir, what + " is missing");
    if (!Files.isRegularFile(file)) throw broken(versionDir, what + " is not a file");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      if (ch.size() > 0) ch.read(java.nio.ByteBuffer.allocate(1));
    } catch (IOException e) {
      throw broken(versionDir, "cannot read " + what + " (" + ErrorText.reason(e) + ")");
    }
  }

  private static BadInputException broken(Path versionDir, String what) {
    return new BadInputException(versionDir + ": broken SavedModel: " + what);
  }
}
