package io.resttf.cli;

import io.resttf.convert.Conversion;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.serving.ExportMetadata;
import io.resttf.serving.NonFiniteWeights;
import io.resttf.serving.SavedModelExporter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code rest-tf convert}: an official checkpoint → a TF checkpoint directory with its config. */
@Command(
    name = "convert",
    mixinStandardHelpOptions = true,
    description = {
      "Converts an official checkpoint (.pth or .safetensors) into DIR: config.json, checkpoint/model.ckpt.*",
      "(a TF Saver checkpoint, loadable by Session.restore; variables named by official keys) and",
      "conversion.json (source, SHA-256, format, wrapper, fresh variables) and saved_model/1/ (a SavedModel",
      "for TF Serving, as export writes it). DIR is written atomically.",
      "Without --variant or --config the model is detected from the weights."
    })
final class ConvertCommand implements Callable<Integer> {
  /** The SavedModel beside the TF checkpoint, where the model locator looks for it. */
  static final String SAVED_MODEL = io.resttf.model.ModelLocation.CONVERT_SAVED_MODEL;

  @Spec CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  ModelOptions model;

  @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "official .pth or .safetensors file")
  Path checkpoint;

  @Mixin EmaOption ema;

  @Option(names = "--drop", paramLabel = "REGEX",
      description = "ignore checkpoint keys matching REGEX; their variables keep a fresh initialisation (e.g. 'head\\..*' for a new head)")
  String drop;

  @Option(names = "--allow-missing", paramLabel = "REGEX",
      description = "variables matching REGEX may be absent from the checkpoint (fresh initialisation)")
  String allowMissing;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory")
  Path out;

  @Option(names = "--force", description = "replace DIR if it exists")
  boolean force;

  @Option(names = "--allow-nonfinite", description = "convert weights that hold NaN or infinite values (refused by default)")
  boolean allowNonFinite;


  @Override
  public Integer call() {
    PrintWriter o = spec.commandLine().getOut();
    RestConfig config = model == null ? null : model.resolve();
    Pattern dropP = regex("--drop", drop), allowP = regex("--allow-missing", allowMissing);
    if (!force && java.nio.file.Files.exists(out)) {
      throw new io.resttf.tensor.BadInputException(out + ": already exists (use --force to replace it)");
    }
    Conversion.Request request = new Conversion.Request(checkpoint, config, ema.get(), dropP, allowP);
    Conversion c = WeightsFiles.reading(checkpoint, progress -> Conversion.load(request, progress));
    try (RestModel m = c.model()) {
      // refused before anything is written: the checkpoint and its SavedModel would hold them
      java.util.Map<String, io.resttf.tensor.HostTensor> weights = m.stateDict();
      if (!allowNonFinite) NonFiniteWeights.refuse(weights, "(--allow-nonfinite converts them anyway)");
      // the same directory also gets a SavedModel (saved_model/1/...), through the export code
      c.writeTfCheckpoint(out, force, tmp -> new SavedModelExporter(tmp).export(SAVED_MODEL, m.config(),
          weights, ExportMetadata.forCheckpoint(checkpoint),
          SavedModelExporter.Options.DEFAULT.withVersion(1).withAllowNonFinite(allowNonFinite)));
      o.println("source:   " + checkpoint + " (" + c.weights().format() + ", " + c.weights().wrapper() + ")");
      o.println("model:    " + (c.detection() != null ? c.detection().describe() + " (detected)" : model.describe()));
      o.printf("loaded:   %d tensors, %,d parameters%n", c.report().loaded(), m.network().params().numParameters());
      if (!c.report().dropped().isEmpty()) o.println("dropped:  " + c.report().dropped());
      if (!c.report().fresh().isEmpty()) o.println("fresh:    " + c.report().fresh() + " (fresh initialisation)");
      o.println("wrote:    " + out + "/{" + Conversion.CONFIG_FILE + ", " + Conversion.CHECKPOINT_PREFIX + ".*, "
          + Conversion.REPORT_FILE + ", " + SAVED_MODEL + "/1/}");
    }
    return Main.OK;
  }

  private Pattern regex(String option, String value) {
    if (value == null) return null;
    try {
      return Pattern.compile(value);
    } catch (PatternSyntaxException e) {
      throw new ParameterException(spec.commandLine(), option + ": invalid regular expression: " + e.getDescription());
    }
  }
}
