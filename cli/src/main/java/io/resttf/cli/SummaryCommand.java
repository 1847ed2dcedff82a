package io.resttf.cli;

import io.resttf.model.ResourceEstimate;
import io.resttf.model.RestConfig;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
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

  @Override
  public Integer call() {
    // any config within the bounds, even one too large for this machine: summary only counts
    RestConfig config = model.resolveConfig();
    // counted from the shapes: answers at once for any config within the bounds, no graph built
    long[] rows = ResourceEstimate.parameterRows(config);
    print(spec.commandLine().getOut(), model.describe(), config, rows);
    return Main.OK;
  }

  static void print(PrintWriter out, String what, RestConfig config, long[] rows) {
    out.println("model:       " + what);
    out.println("family:      " + config.family().id() + (config.family().id().equals("v1") ? " (ResT)" : " (ResTv2)"));
    out.println("num_classes: " + config.numClasses() + (config.numClasses() == 0 ? " (no head: backbone only)" : ""));
    out.println("in_chans:    " + config.inChans());
    out.println();
    String fmt = "%-7s %6s %6s %6s %9s %10s %7s %14s%n";
    out.printf(fmt, "stage", "dims", "heads", "depth", "sr_ratio", "mlp_ratio", "stride", "params");
    long total = 0;
    for (int s = 0; s < RestConfig.NUM_STAGES; s++) {
      out.printf(fmt, "stage" + (s + 1), config.dim(s), config.heads(s), config.depth(s), config.srRatio(s),
          config.mlpRatios().get(s), 4 << s, String.format("%,d", rows[s]));
    }
    out.printf(fmt, "head", "", "", "", "", "", "", String.format("%,d", rows[RestConfig.NUM_STAGES]));
    for (long r : rows) total += r;
    out.println();
    out.printf(java.util.Locale.ROOT, "MACs at 224x224: %.2f G (conv, linear, attention products)%n",
        io.resttf.model.Flops.macs(config, 224, 224) / 1e9);
    out.println("parameters: " + total);
  }
}
