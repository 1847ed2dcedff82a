package io.resttf.cli;

import io.resttf.model.DesignSpace;
import io.resttf.model.Family;
import io.resttf.model.Flops;
import io.resttf.model.ResourceEstimate;
import io.resttf.model.RestConfig;
import io.resttf.model.Variants;
import io.resttf.tensor.BadInputException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rest-tf summary}: the architecture, stage by stage, MACs by kind and the trainable parameter count. */
@Command(
    name = "summary",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the architecture stage by stage, its design-space options, the MACs of one image split by kind",
      "(attention products, linear layers, convolutions, other) and the trainable parameter count.",
      "A stage's parameters are its patch embedding (the stem for stage 1) and its blocks;"
          + " the final norm and the classifier are the row \"head\".",
      "The last line is \"parameters: N\".",
      "--ablations prints the papers' ablation rows instead (each a --variant name): parameters and MACs."
    })
final class SummaryCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  ModelOptions model;

  @Option(names = "--input", paramLabel = "HxW", defaultValue = "224x224",
      description = "input size the MACs are counted at, multiples of 32 (default: ${DEFAULT-VALUE})")
  String input;

  @Option(names = "--ablations", description = "the papers' ablation rows: parameters and MACs of each, beside its base model")
  boolean ablations;

  @Override
  public Integer call() {
    int[] hw = parseInput(input);
    PrintWriter out = spec.commandLine().getOut();
    if (ablations) {
      if (model != null) throw new BadInputException("--ablations lists its own models: leave out --variant / --config");
      printAblations(out, hw[0], hw[1]);
      return Main.OK;
    }
    if (model == null) throw new BadInputException("give the model: --variant NAME or --config FILE (or --ablations)");
    // any config within the bounds, even one too large for this machine: summary only counts
    RestConfig config = model.resolveConfig();
    // counted from the shapes: answers at once for any config within the bounds, no graph built
    long[] rows = ResourceEstimate.parameterRows(config);
    print(out, model.describe(), config, rows, hw[0], hw[1]);
    return Main.OK;
  }

  /** "HxW" → {H, W}, each a positive multiple of 32 within the bounds. */
  static int[] parseInput(String s) {
    String[] p = s.toLowerCase(Locale.ROOT).split("x", -1);
    int[] hw = new int[2];
    try {
      if (p.length != 2) throw new NumberFormatException();
      hw[0] = Integer.parseInt(p[0]);
      hw[1] = Integer.parseInt(p[1]);
    } catch (NumberFormatException e) {
      throw new BadInputException("--input must be HxW (e.g. 224x224 or 800x1216), got \"" + s + "\"");
    }
    for (int v : hw) {
      if (v < RestConfig.STRIDE || v % RestConfig.STRIDE != 0 || v > ResourceEstimate.MAX_SIDE) {
        throw new BadInputException("--input sides must be multiples of 32 from 32 to " + ResourceEstimate.MAX_SIDE + ", got \"" + s + "\"");
      }
    }
    return hw;
  }

  static void print(PrintWriter out, String what, RestConfig config, long[] rows) {
    print(out, what, config, rows, 224, 224);
  }

  static void print(PrintWriter out, String what, RestConfig config, long[] rows, int height, int width) {
    out.println("model:       " + what);
    out.println("family:      " + config.family().id() + (config.family().id().equals("v1") ? " (ResT)" : " (ResTv2)"));
    out.println("num_classes: " + config.numClasses() + (config.numClasses() == 0 ? " (no head: backbone only)" : ""));
    out.println("in_chans:    " + config.inChans());
    out.println("options:     " + options(config));
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
    Flops.Macs m = Flops.breakdown(config, height, width);
    out.printf(Locale.ROOT, "MACs at %dx%d: %.2f G (attention products %.2f G, linear %.2f G, convolutions %.2f G,"
        + " other %.2f G)%n", height, width, m.total() / 1e9, m.attention() / 1e9, m.linear() / 1e9, m.conv() / 1e9,
        m.other() / 1e9);
    out.println("parameters: " + total);
  }

  /** The options that differ from the official model, or "official". */
  static String options(RestConfig c) {
    List<String> o = new ArrayList<>();
    if (c.reduction() != DesignSpace.Reduction.DWCONV) o.add("reduction " + c.reduction().id());
    if (c.positionEncoding() != DesignSpace.PositionEncoding.PA) o.add("position_encoding " + c.positionEncoding().id());
    if (c.applyTransform() != (c.family() == Family.V1)) o.add("apply_transform " + c.applyTransform());
    if (c.family() == Family.V2) {
      if (c.upsample() != DesignSpace.Upsample.PIXEL_SHUFFLE) o.add("upsample " + c.upsample().id());
      if (c.upsampleTarget() != DesignSpace.UpsampleTarget.V) o.add("upsample_target " + c.upsampleTarget().id());
      if (!c.attention()) o.add("attention false (ConvNet)");
      if (c.windowStyle() != DesignSpace.WindowStyle.GLOBAL) o.add("window_style " + c.windowStyle().id() + " " + c.windowSizes());
    }
    return o.isEmpty() ? "official" : String.join(", ", o);
  }

  private static void printAblations(PrintWriter out, int height, int width) {
    String fmt = "%-30s %-13s %10s %9s %9s %9s %9s %9s  %s%n";
    out.printf(Locale.ROOT, "MACs (G) at %dx%d; Δ against the base model%n", height, width);
    out.printf(fmt, "variant", "base", "params (M)", "MACs", "attn", "linear", "conv", "other", "change");
    List<String> bases = new ArrayList<>();
    for (Variants.Ablation a : Variants.ablations()) {
      if (!bases.contains(a.base())) {
        bases.add(a.base());
        row(out, fmt, a.base(), "", Variants.get(a.base()), height, width, "(released)");
      }
      row(out, fmt, a.name(), a.base(), a.config(), height, width, a.change());
    }
  }

  private static void row(PrintWriter out, String fmt, String name, String base, RestConfig c, int h, int w, String change) {
    Flops.Macs m = Flops.breakdown(c, h, w);
    out.printf(Locale.ROOT, fmt, name, base, String.format(Locale.ROOT, "%.2f", ResourceEstimate.parameters(c) / 1e6),
        String.format(Locale.ROOT, "%.2f", m.total() / 1e9), String.format(Locale.ROOT, "%.2f", m.attention() / 1e9),
        String.format(Locale.ROOT, "%.2f", m.linear() / 1e9), String.format(Locale.ROOT, "%.2f", m.conv() / 1e9),
        String.format(Locale.ROOT, "%.2f", m.other() / 1e9), change);
  }
}
