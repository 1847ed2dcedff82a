package io.resttf.cli;

import io.resttf.model.Params;
import io.resttf.model.RestConfig;
import io.resttf.model.RestNetwork;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.Graph;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code rest-tf summary}: the architecture, stage by stage, and the trainable parameter count. */
@Command(
    name = "summary",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the architecture stage by stage and the trainable parameter count.",
      "A stage's parameters are its patch embedding (the stem for stage 1) and its blocks;"
          + " the final norm and the classifier are the row \"head\".",
      "The last line is \"parameters: N\"."
    })
final class SummaryCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "1")
  ModelOptions model;

  /** stem | stageN | patch_embed_N (v1) | patch_N (v2) → stage; norm | head → the head row. */
  private static final Pattern STAGE_KEY = Pattern.compile("^(?:stage|patch_embed_|patch_)(\\d+)\\..*");

  @Override
  public Integer call() {
    RestConfig config = model.resolve();
    PrintWriter out = spec.commandLine().getOut();
    Params params;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> input =
          tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, config.inChans())));
      params = RestNetwork.build(tf, config, input).params();
      print(out, model.describe(), config, params);
    }
    return Main.OK;
  }

  static void print(PrintWriter out, String what, RestConfig config, Params params) {
    Map<String, Long> perRow = perRow(params);
    out.println("model:       " + what);
    out.println("family:      " + config.family().id() + (config.family().id().equals("v1") ? " (ResT)" : " (ResTv2)"));
    out.println("num_classes: " + config.numClasses() + (config.numClasses() == 0 ? " (no head: backbone only)" : ""));
    out.println("in_chans:    " + config.inChans());
    out.println();
    String fmt = "%-7s %6s %6s %6s %9s %10s %7s %14s%n";
    out.printf(fmt, "stage", "dims", "heads", "depth", "sr_ratio", "mlp_ratio", "stride", "params");
    for (int s = 0; s < RestConfig.NUM_STAGES; s++) {
      out.printf(fmt, "stage" + (s + 1), config.dim(s), config.heads(s), config.depth(s), config.srRatio(s),
          config.mlpRatios().get(s), 4 << s, String.format("%,d", perRow.getOrDefault("stage" + (s + 1), 0L)));
    }
    for (Map.Entry<String, Long> e : perRow.entrySet()) {
      if (e.getKey().startsWith("stage")) continue;
      out.printf(fmt, e.getKey(), "", "", "", "", "", "", String.format("%,d", e.getValue()));
    }
    out.println();
    out.printf(java.util.Locale.ROOT, "MACs at 224x224: %.2f G (conv, linear, attention products)%n",
        io.resttf.model.Flops.macs(config, 224, 224) / 1e9);
    out.println("parameters: " + params.numParameters());
  }

  /** Trainable parameters per row (stage1..stage4, head, and "other" should a key fit no row). */
  static Map<String, Long> perRow(Params params) {
    Map<String, Long> rows = new LinkedHashMap<>();
    for (int s = 1; s <= RestConfig.NUM_STAGES; s++) rows.put("stage" + s, 0L);
    rows.put("head", 0L);
    for (Params.Param p : params.all().values()) {
      if (!p.trainable()) continue;
      rows.merge(row(p.key()), p.size(), Long::sum);
    }
    return rows;
  }

  static String row(String key) {
    if (key.startsWith("stem.")) return "stage1";
    if (key.startsWith("norm.") || key.startsWith("head.")) return "head";
    Matcher m = STAGE_KEY.matcher(key);
    return m.matches() ? "stage" + m.group(1) : "other";
  }
}
