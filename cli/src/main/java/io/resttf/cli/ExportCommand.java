package io.resttf.cli;

import io.resttf.convert.Conversion;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.serving.ExportMetadata;
import io.resttf.model.ModelLocation;
import io.resttf.model.Preprocessing;
import io.resttf.serving.NonFiniteWeights;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rest-tf export}: a checkpoint → a versioned SavedModel directory that TF Serving polls. */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = {
      "Exports a model as a SavedModel: BASE/NAME/VERSION/{saved_model.pb, variables/, assets/}, written",
      "atomically, plus BASE/NAME/model.json and BASE/models.config (every exported model, for",
      "tensorflow_model_server --model_config_file). Signatures: serving_default, classify_images, features."
    })
final class ExportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  static final class Source {
    @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "official .pth or .safetensors file")
    Path checkpoint;

    @Option(names = "--tf-checkpoint", required = true, paramLabel = "DIR", description = "a directory written by convert")
    Path tfCheckpoint;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  ModelOptions model;

  @Mixin EmaOption ema;

  @Option(names = "--name", required = true, paramLabel = "NAME", description = "model name (the directory under BASE)")
  String name;

  @Option(names = "--base", paramLabel = "DIR", description = "where models land (default: savedmodels/ in the repository)")
  Path base;

  @Option(names = "--version", paramLabel = "N", description = "version number (default: the next free one)")
  Long version;

  @Option(names = "--image-size", paramLabel = "S", description = "crop size of classify_images (default 224)")
  Integer imageSize;

  @Option(names = "--max-pixels", paramLabel = "N",
      description = "classify_images refuses images larger than N pixels (width × height, from the header; default 40000000)")
  Long maxPixels;

  @Option(names = "--force", description = "replace an existing version")
  boolean force;

  @Option(names = "--allow-nonfinite", description = "export weights that hold NaN or infinite values (refused by default)")
  boolean allowNonFinite;


  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    SavedModelExporter.checkModelName(name);
    if (version != null && version < 1) throw new BadInputException("--version must be a positive integer, got " + version);
    RestConfig config;
    Map<String, HostTensor> stateDict;
    ExportMetadata meta;
    if (source.checkpoint != null) {
      Conversion.Request request = new Conversion.Request(source.checkpoint, model == null ? null : model.resolve(), ema.get(), null, null);
      Conversion c = WeightsFiles.reading(source.checkpoint, progress -> Conversion.load(request, progress));
      try (RestModel m = c.model()) {
        config = m.config();
        stateDict = c.weights().stateDict();
        meta = ExportMetadata.forCheckpoint(source.checkpoint);
        if (c.detection() != null && c.detection().widthDivisor() == 1) meta = meta.withVariant(c.detection().variant());
      }
    } else {
      if (ema.get()) throw new BadInputException("--ema applies to --checkpoint files only");
      ModelLocation.require(source.tfCheckpoint, ModelLocation.Kind.CONVERT_OUTPUT);
      try (RestModel m = Conversion.openTfCheckpoint(source.tfCheckpoint)) {
        config = m.config();
        if (model != null && !model.resolve().equals(config)) {
          throw new BadInputException(source.tfCheckpoint + ": its config.json differs from " + model.describe());
        }
        stateDict = m.stateDict();
      }
      meta = ExportMetadata.defaults();
      // the original checkpoint, as convert recorded it
      Path report = source.tfCheckpoint.resolve(Conversion.REPORT_FILE);
      try {
        var r = new com.fasterxml.jackson.databind.ObjectMapper().readTree(report.toFile());
        meta = meta.withSource(r.path("source").asText(null), r.path("sha256").asText(null));
      } catch (java.io.IOException e) {
        meta = meta.withSource(source.tfCheckpoint.toAbsolutePath().toString(), null);
      }
    }
    if (model != null && model.variant != null) meta = meta.withVariant(model.variant);
    if (maxPixels != null) meta = meta.withMaxPixels(maxPixels);
    if (imageSize != null) meta = meta.withPreprocessing(Preprocessing.imagenet(config.inChans()).withSize(imageSize));
    if (!allowNonFinite) NonFiniteWeights.refuse(stateDict, "(--allow-nonfinite exports them anyway)");
    SavedModelExporter.Options opts = SavedModelExporter.Options.DEFAULT.withForce(force).withAllowNonFinite(allowNonFinite);
    if (version != null) opts = opts.withVersion(version);
    SavedModelExporter.Result r = new SavedModelExporter(base != null ? base : Home.savedModels()).export(name, config, stateDict, meta, opts);
    out.println("exported: " + r.versionDir() + (r.replaced() ? " (replaced)" : ""));
    out.println("signatures: " + String.join(", ", r.signatures()));
    out.println("metadata: " + r.modelJson());
    out.println("serving:  " + r.modelsConfig() + "  (tensorflow_model_server --model_config_file=" + r.modelsConfig() + ")");
    return Main.OK;
  }
}
