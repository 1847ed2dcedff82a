package io.resttf.cli;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.model.ModelLocation;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rest-tf inspect PATH}: what a checkpoint holds and which model it is, or a SavedModel's signatures. */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description = {
      "Lists the tensors of a .pth, .pkl (detectron2) or .safetensors file (key, dtype, shape), the wrapper the state_dict",
      "was found in, and the model detected from it. Nothing in the file is executed. Given a SavedModel (any",
      "model directory: version, model, training run, convert output), lists its tags and signatures."
    })
final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "PATH", description = "a .pth, .pkl or .safetensors file, or a SavedModel")
  Path file;

  @Mixin EmaOption ema;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    ModelLocation where = ModelLocation.of(file);
    if (where.kind() != ModelLocation.Kind.CHECKPOINT_FILE) {
      return SavedModelInspector.inspect(where.versionDirectory(), out);
    }
    CheckpointFiles.LoadedWeights w = WeightsFiles.readWithProgress(file, ema.get());
    out.println("file:     " + file);
    out.println("format:   " + w.format());
    out.println("wrapper:  " + w.wrapper());
    long floats = 0;
    int keyWidth = w.stateDict().keySet().stream().mapToInt(String::length).max().orElse(10);
    out.printf("tensors:  %d%n", w.stateDict().size());
    for (Map.Entry<String, HostTensor> e : w.stateDict().entrySet()) {
      out.printf("  %-" + keyWidth + "s  %-5s %s%n", e.getKey(), e.getValue().dtype(), e.getValue().shapeString());
      if (e.getValue().isFloating()) floats += e.getValue().size();
    }
    out.printf("values:   %,d floating-point%n", floats);
    try {
      if (ConfigDetector.isSegmentation(w.stateDict().keySet())) {
        ConfigDetector.SegmentationDetection sd = ConfigDetector.detectSegmentation(w.stateDict());
        out.println("model:    " + sd.describe());
        out.println("how:      backbone (" + ConfigDetector.BACKBONE + "*): " + sd.backbone().explanation()
            + "; head width and classes from " + ConfigDetector.DECODE_HEAD + "conv_seg, pool scales (1, 2, 3, 6)"
            + " from the four psp_modules" + (sd.head().hasAuxiliaryHead() ? ", auxiliary head from "
            + ConfigDetector.AUXILIARY_HEAD + "convs.0" : ""));
        out.println("config:   " + sd.backbone().config().toJson().replaceAll("\\s+", " "));
        return Main.OK;
      }
      if (ConfigDetector.isDetectron2(w.stateDict().keySet())) {
        ConfigDetector.BackboneDetection bd = ConfigDetector.detectDetectron2(w.stateDict());
        out.println("model:    " + bd.describe());
        out.println("how:      " + ConfigDetector.D2_BACKBONE + "* keys: " + bd.backbone().explanation()
            + (bd.missingNorms().isEmpty() ? "" : "; output norms not in the file (fresh when loaded): " + bd.missingNorms())
            + "; " + bd.ignoredKeys().size() + " other keys (detector heads, FPN, classification head) ignored");
        out.println("config:   " + bd.backbone().config().toJson().replaceAll("\\s+", " "));
        return Main.OK;
      }
      ConfigDetector.Detection d = ConfigDetector.detect(w.stateDict());
      out.println("model:    " + d.describe());
      out.println("how:      " + d.explanation());
      out.println("config:   " + d.config().toJson().replaceAll("\\s+", " "));
    } catch (BadInputException e) {
      out.println("model:    not detected: " + e.getMessage());
    }
    return Main.OK;
  }
}
