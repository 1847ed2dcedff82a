package io.resttf.cli;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.Conversion;
import io.resttf.model.RestConfig;
import io.resttf.model.Precision;
import io.resttf.model.RestModel;
import io.resttf.model.RestNetwork;
import io.resttf.serving.DenseExport;
import io.resttf.serving.ExportMetadata;
import io.resttf.model.ModelLocation;
import io.resttf.model.Preprocessing;
import io.resttf.serving.NonFiniteWeights;
import io.resttf.serving.ModelsConfig;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
      "tensorflow_model_server --model_config_file). Signatures: serving_default, classify_images, classify (TF",
      "Serving's Classify API: tf.Example in), features, preprocess_images.",
      "An mmseg segmentation checkpoint exports serving_default (pixel_values -> seg_logits, class_map) and features",
      "(the backbone's normed outputs); a detectron2 checkpoint exports its ResT backbone's features."
    })
final class ExportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  static final class Source {
    @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "official .pth, .pkl (detectron2) or .safetensors file")
    Path checkpoint;

    @Option(names = "--tf-checkpoint", required = true, paramLabel = "DIR", description = "a directory written by convert")
    Path tfCheckpoint;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  ModelOptions model;

  @Mixin EmaOption ema;

  @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32", converter = PrecisionOption.Converter.class,
      description = "fp32 (default) or bf16: classification exports keep bfloat16 copies of the MatMul and convolution"
          + " weights that a bf16 session (classify --precision bf16) reads without casting them on every run; any"
          + " session then computes with the bfloat16-rounded weights")
  Precision precision;

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

  @Option(names = "--bands", paramLabel = "auto|on|off", defaultValue = "auto", converter = BandsConverter.class, description = {
      "on: a single image's blocks and large convolutions also run on two bands of rows, one per core: faster at",
      "batch 1 in a server with one intra-op thread (TF_NUM_INTRAOP_THREADS=1, tensorflow_model_server",
      "--tensorflow_intra_op_parallelism=1), a little slower with more; off: not; auto (default): as this process",
      "would build (-Dresttf.splitBlocks). Recorded as batch1_bands in rest_tf.json"})
  RestNetwork.Bands bands;

  /** Anything but auto / on / off is a one-line usage error. */
  static final class BandsConverter implements picocli.CommandLine.ITypeConverter<RestNetwork.Bands> {
    @Override
    public RestNetwork.Bands convert(String value) {
      try {
        return RestNetwork.Bands.parse(value, "--bands");
      } catch (BadInputException e) {
        throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not auto, on or off");
      }
    }
  }

  @Option(names = "--force", description = "replace an existing version")
  boolean force;

  @Option(names = "--allow-nonfinite", description = "export weights that hold NaN or infinite values (refused by default)")
  boolean allowNonFinite;

  @Option(names = "--version-policy", paramLabel = "POLICY", description = {
      "which versions TF Serving loads (models.config model_version_policy): latest (default), latest:N, all,",
      "specific:V1,V2; kept in BASE/NAME/serving.json"})
  String versionPolicy;

  @Option(names = "--version-label", paramLabel = "LABEL=VERSION", description = {
      "a version label for TF Serving (models.config version_labels; repeatable), e.g. stable=1 canary=2;",
      "VERSION 'this' = the version being exported"})
  List<String> versionLabels = List.of();


  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    SavedModelExporter.checkModelName(name);
    if (version != null && version < 1) throw new BadInputException("--version must be a positive integer, got " + version);
    checkServingOptions();
    RestConfig config;
    Map<String, HostTensor> stateDict;
    ExportMetadata meta;
    if (source.checkpoint != null) {
      CheckpointFiles.LoadedWeights w = WeightsFiles.readWithProgress(source.checkpoint, ema.get());
      boolean segmentation = ConfigDetector.isSegmentation(w.stateDict().keySet());
      if (segmentation || ConfigDetector.isDetectron2(w.stateDict().keySet())) {
        if (model != null) {
          throw new BadInputException(source.checkpoint + ": a " + (segmentation ? "segmentation checkpoint (mmseg ResTv2 + UPerNet)"
              : "detectron2 checkpoint (backbone.bottom_up.*)") + ", whose model is detected from its weights: leave out"
              + " --variant / --config");
        }
        if (imageSize != null || maxPixels != null) {
          throw new BadInputException("--image-size and --max-pixels apply to classification exports (classify_images);"
              + " " + source.checkpoint + " is a " + (segmentation ? "segmentation" : "detectron2") + " checkpoint");
        }
        return exportDense(out, w, segmentation);
      }
      Conversion.Request request = new Conversion.Request(source.checkpoint, model == null ? null : model.resolve(), ema.get(), null, null);
      Conversion c = Conversion.fromWeights(request, w);
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
    SavedModelExporter.Options opts = SavedModelExporter.Options.DEFAULT.withForce(force).withAllowNonFinite(allowNonFinite)
        .withPrecision(precision).withBands(bands);
    if (version != null) opts = opts.withVersion(version);
    if (versionPolicy != null || !versionLabels.isEmpty()) opts = opts.withServing(this::serving);
    SavedModelExporter.Result r = new SavedModelExporter(baseDir()).export(name, config, stateDict, meta, opts);
    report(out, r);
    return Main.OK;
  }

  /**
   * A segmentation checkpoint (signatures serving_default: seg_logits + class_map, features) or a detectron2
   * backbone (features: the four normed outputs), detected from the weights.
   */
  private int exportDense(PrintWriter out, CheckpointFiles.LoadedWeights w, boolean segmentation) {
    if (precision != Precision.FP32) {
      throw new BadInputException("--precision bf16 applies to classification exports; this is a "
          + (segmentation ? "segmentation" : "detectron2 backbone") + " checkpoint");
    }
    DenseExport model;
    RestModel.LoadOptions load;
    if (segmentation) {
      ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
      out.println("model:    " + d.describe() + " (detected)");
      model = DenseExport.segmentor(d.backbone().config(), d.head(), List.of());
      load = RestModel.LoadOptions.STRICT;
    } else {
      ConfigDetector.BackboneDetection d = ConfigDetector.detectDetectron2(w.stateDict());
      out.println("model:    " + d.describe() + " (detected)");
      if (!d.missingNorms().isEmpty()) {
        out.println("fresh:    output norms not in the file, exported as detectron2 initialises them (weight 1, bias 0): "
            + d.missingNorms());
      }
      model = DenseExport.backbone(d.backbone().config(), d.style(), d.keyPrefix());
      load = d.loadOptions();
    }
    if (!allowNonFinite) NonFiniteWeights.refuse(w.stateDict(), "(--allow-nonfinite exports them anyway)");
    SavedModelExporter.Options opts = SavedModelExporter.Options.DEFAULT.withForce(force).withAllowNonFinite(allowNonFinite)
        .withBands(bands);
    if (version != null) opts = opts.withVersion(version);
    if (versionPolicy != null || !versionLabels.isEmpty()) opts = opts.withServing(this::serving);
    SavedModelExporter.Result r;
    try {
      r = new SavedModelExporter(baseDir()).exportDense(name, model, w.stateDict(), load, opts);
    } catch (BadInputException e) {
      throw new BadInputException(source.checkpoint + ": " + e.getMessage(), e);
    }
    report(out, r);
    return Main.OK;
  }

  private Path baseDir() {
    return base != null ? base : Home.savedModels();
  }

  /** --version-policy / --version-label over the model's current serving.json; null when neither is given. */
  private ModelsConfig.Serving serving(long thisVersion) {
    if (versionPolicy == null && versionLabels.isEmpty()) return null;
    ModelsConfig.Serving current = ModelsConfig.Serving.read(baseDir().resolve(name));
    Map<String, Long> labels = new TreeMap<>(current.labels());
    for (String l : versionLabels) {
      int eq = l.indexOf('=');
      if (eq <= 0 || eq == l.length() - 1) throw new BadInputException("--version-label must be LABEL=VERSION, got \"" + l + "\"");
      String v = l.substring(eq + 1);
      long n;
      if (v.equals("this")) {
        n = thisVersion;
      } else {
        try {
          n = Long.parseLong(v);
        } catch (NumberFormatException e) {
          throw new BadInputException("--version-label " + l + ": VERSION must be a number or 'this'");
        }
      }
      labels.put(l.substring(0, eq), n);
    }
    return new ModelsConfig.Serving(versionPolicy != null ? versionPolicy : current.policy(), labels);
  }

  /** Refuses, before anything is written, a policy or label TF Serving would refuse once this version exists. */
  private void checkServingOptions() {
    Path modelDir = baseDir().resolve(name);
    long next = version != null ? version : SavedModelExporter.nextVersion(modelDir);
    ModelsConfig.Serving s = serving(next);
    if (s != null) s.checkWithNewVersion(name, SavedModelExporter.versions(modelDir), next);
  }

  private static void report(PrintWriter out, SavedModelExporter.Result r) {
    out.println("exported: " + r.versionDir() + (r.replaced() ? " (replaced)" : ""));
    out.println("signatures: " + String.join(", ", r.signatures()));
    out.println("metadata: " + r.modelJson());
    out.println("serving:  " + r.modelsConfig() + "  (tensorflow_model_server --model_config_file=" + r.modelsConfig() + ")");
    ModelsConfig.Serving s = ModelsConfig.Serving.read(r.versionDir().getParent());
    if (!s.equals(ModelsConfig.Serving.DEFAULT)) out.println("versions: policy " + s.policy() + ", labels " + s.labels());
  }
}
