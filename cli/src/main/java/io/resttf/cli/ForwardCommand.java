package io.resttf.cli;

import io.resttf.convert.ConfigDetector;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.ResourceEstimate;
import io.resttf.model.RestConfig;
import io.resttf.model.BackboneModel;
import io.resttf.model.RestModel;
import io.resttf.model.SegmentationModel;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rest-tf forward}: one forward pass of given weights on an .npy batch; writes the outputs as .npy. */
@Command(
    name = "forward",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the model with the given weights on an input batch and writes DIR/logits.npy"
          + " (DIR/pooled.npy when num_classes is 0) and DIR/stage1.npy..stage4.npy (NHWC, float32).",
      "A segmentation checkpoint (mmseg's ResTv2 + UPerNet, detected from the weights) writes DIR/seg_logits.npy"
          + " [B,H,W,K] at the input size (whole-image inference), DIR/stage1.npy..stage4.npy (the backbone's"
          + " normed outputs) and DIR/aux_logits.npy (the auxiliary head, stride 16).",
      "Prints each output's shape and the top-1 class of each batch row.",
      "Without --variant or --config the model is detected from the weights."
    })
final class ForwardCommand implements Callable<Integer> {
  enum Layout { NHWC, NCHW }

  @Spec CommandSpec spec;

  /** Optional here: without it the config is detected from the weights. */
  @ArgGroup(exclusive = true, multiplicity = "0..1")
  ModelOptions model;

  @Option(names = "--weights", required = true, paramLabel = "FILE",
      description = "the weights: a PyTorch checkpoint (.pth) or a .safetensors state_dict, official keys")
  Path weights;

  @Mixin EmaOption ema;

  @Option(names = "--input", required = true, paramLabel = "X.npy",
      description = "input batch, float, 4-D; H and W multiples of 32")
  Path input;

  @Option(names = "--layout", paramLabel = "LAYOUT", defaultValue = "nhwc",
      description = "layout of the input: nhwc [B,H,W,C] or nchw [B,C,H,W] (PyTorch); default: ${DEFAULT-VALUE}")
  Layout layout;

  @Mixin Outputs.DirOption outDir;

  @Mixin PrecisionOption precision;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    RestConfig config;
    HostTensor x;
    Map<String, HostTensor> stateDict;
    if (model != null) {
      // cheap checks first: config, input, output directory; then the (possibly large) weights
      config = model.resolve();
      x = readInput(input, layout, config.inChans());
      checkFits(config, x);
      outDir.check();
      stateDict = WeightsFiles.read(weights, ema.get());
      if (ConfigDetector.isSegmentation(stateDict.keySet()) || ConfigDetector.isDetectron2(stateDict.keySet())) {
        throw new BadInputException(weights + ": a " + (ConfigDetector.isSegmentation(stateDict.keySet())
            ? "segmentation checkpoint (mmseg ResTv2 + UPerNet)" : "detectron2 checkpoint (backbone.bottom_up.*)")
            + ", whose model is detected from its weights: leave out --variant / --config");
      }
    } else {
      stateDict = WeightsFiles.read(weights, ema.get());
      if (ConfigDetector.isSegmentation(stateDict.keySet())) return segment(out, stateDict);
      if (ConfigDetector.isDetectron2(stateDict.keySet())) return detectionBackbone(out, stateDict);
      ConfigDetector.Detection d = ConfigDetector.detect(stateDict);
      config = d.config();
      out.println("model:       " + d.describe() + " (detected from the weights)");
      x = readInput(input, layout, config.inChans());
      checkFits(config, x);
      outDir.check();
    }
    RestModel.Outputs result;
    try (RestModel m = RestModel.create(config, precision.get().sessionConfig(null))) {
      RestModel.LoadReport report = m.load(stateDict);
      if (!report.fresh().isEmpty()) {
        out.println("fresh:       " + report.fresh().size() + " parameters the config's options add, not in the file,"
            + " starting at zero: " + report.fresh());
      }
      result = m.forward(x);
    }
    Outputs files = outDir.open(out);
    if (result.logits() != null) {
      files.write("logits", result.logits());
    } else {
      files.write("pooled", result.pooled());
    }
    for (int s = 0; s < result.stages().size(); s++) files.write("stage" + (s + 1), result.stages().get(s));
    if (result.logits() != null) printTop1(out, result.logits());
    files.warnNonFinite(spec.commandLine().getErr());
    return Main.OK;
  }

  /**
   * A segmentation checkpoint (mmseg's ResTv2 + UPerNet): whole-image inference, writing seg_logits.npy
   * [B,H,W,K] at the input size, stage1..4.npy (the backbone's normed outputs) and aux_logits.npy.
   */
  private int segment(PrintWriter out, Map<String, HostTensor> stateDict) {
    ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(stateDict);
    RestConfig backbone = d.backbone().config();
    HostTensor x = detectedInput(out, d.describe(), backbone);
    SegmentationModel.Outputs result;
    try (SegmentationModel m = SegmentationModel.create(backbone, d.head(), precision.get().sessionConfig(null))) {
      m.load(stateDict);
      result = m.forward(x);
    }
    Outputs files = outDir.open(out);
    files.write("seg_logits", result.segLogits());
    for (int s = 0; s < result.features().size(); s++) files.write("stage" + (s + 1), result.features().get(s));
    if (result.auxLogits() != null) files.write("aux_logits", result.auxLogits());
    files.warnNonFinite(spec.commandLine().getErr());
    return Main.OK;
  }

  /**
   * A detectron2 checkpoint (a detector, or a classification checkpoint converted by convert_to_d2.py): the
   * ResT backbone only, writing stage1..4.npy, its four normed outputs (the FPN's input); output norms the
   * file lacks start as detectron2 initialises them (weight 1, bias 0) and are named.
   */
  private int detectionBackbone(PrintWriter out, Map<String, HostTensor> stateDict) {
    ConfigDetector.BackboneDetection d = ConfigDetector.detectDetectron2(stateDict);
    RestConfig config = d.backbone().config();
    HostTensor x = detectedInput(out, d.describe(), config);
    List<HostTensor> features;
    try (BackboneModel m = BackboneModel.create(config, d.style(), d.keyPrefix(), precision.get().sessionConfig(null))) {
      RestModel.LoadReport report = m.load(stateDict, d.loadOptions(), 0);
      if (!report.fresh().isEmpty()) {
        out.println("fresh:       " + report.fresh().size() + " output-norm parameters not in the file, initialised as"
            + " detectron2 does (weight 1, bias 0): " + d.missingNorms());
      }
      if (!d.ignoredKeys().isEmpty()) {
        out.println("ignored:     " + d.ignoredKeys().size() + " keys outside the backbone (detector heads, FPN,"
            + " classification head)");
      }
      features = m.forward(x);
    }
    Outputs files = outDir.open(out);
    for (int s = 0; s < features.size(); s++) files.write("stage" + (s + 1), features.get(s));
    files.warnNonFinite(spec.commandLine().getErr());
    return Main.OK;
  }

  /** Says what was detected, then reads the input and checks it and the output directory, before any graph. */
  private HostTensor detectedInput(PrintWriter out, String description, RestConfig config) {
    out.println("model:       " + description + " (detected from the weights)");
    HostTensor x = readInput(input, layout, config.inChans());
    checkFits(config, x);
    outDir.check();
    return x;
  }

  /** Refuses, before a graph is built, a batch whose forward pass cannot fit in this machine's memory. */
  private void checkFits(RestConfig config, HostTensor nhwc) {
    long[] shape = nhwc.shape();
    ResourceEstimate.require(input.toString(), config, shape[0], shape[1], shape[2], false);
  }

  /** Reads the input batch, converts it to NHWC and checks it fits the model (before weights are read). */
  static HostTensor readInput(Path file, Layout layout, int inChans) {
    HostTensor raw = Npy.read(file);
    if (!raw.isFloating()) {
      throw new BadInputException(file + ": input must hold floats, got dtype " + raw.dtype());
    }
    HostTensor nhwc;
    if (layout == Layout.NCHW) {
      if (raw.rank() != 4) {
        throw new BadInputException(file + ": input must be 4-D [batch, channels, height, width] (--layout nchw), got shape "
            + raw.shapeString());
      }
      nhwc = Layouts.nchwToNhwc(raw);
    } else {
      nhwc = raw;
    }
    try {
      RestModel.checkInputShape(nhwc.shape(), inChans);
    } catch (BadInputException e) {
      long[] shape = raw.shape();
      String note = layout == Layout.NCHW ? " (after converting NCHW " + raw.shapeString() + " to NHWC)"
          : shape.length == 4 && shape[1] == inChans && shape[3] != inChans ? " (an NCHW file? use --layout nchw)" : "";
      throw new BadInputException(file + ": " + e.getMessage() + note, e);
    }
    return nhwc;
  }

  static void printTop1(PrintWriter out, HostTensor logits) {
    long[] shape = logits.shape();
    int rows = (int) shape[0], classes = (int) shape[1];
    float[] v = logits.toFloats();
    for (int r = 0; r < rows; r++) {
      int best = 0;
      for (int c = 1; c < classes; c++) if (v[r * classes + c] > v[r * classes + best]) best = c;
      out.printf("top-1 row %d: class %d (logit %.4f)%n", r, best, v[r * classes + best]);
    }
  }
}
