package io.resttf.cli;

import io.resttf.serving.RestClassifier;
import io.resttf.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rest-tf classify}: images through a SavedModel's classify_images signature. */
@Command(
    name = "classify",
    mixinStandardHelpOptions = true,
    description = {
      "Classifies JPEG / PNG images with an exported SavedModel (its own in-graph preprocessing): one line per",
      "image with the best labels and probabilities. A corrupt image gets an error line; the others still run",
      "(exit code 2 when any image failed)."
    })
final class ClassifyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--top-k", paramLabel = "K", defaultValue = "5", description = "labels per image (default ${DEFAULT-VALUE})")
  int topK;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "images per call (default ${DEFAULT-VALUE})")
  int batch;

  @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image files")
  List<Path> images;

  @Mixin PrecisionOption precision;

  @Mixin MaxPixelsOption maxPixels;

  @Override
  public Integer call() {
    if (topK < 1) throw new BadInputException("--top-k must be at least 1, got " + topK);
    if (batch < 1) throw new BadInputException("--batch must be at least 1, got " + batch);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    int failed = 0;
    try (RestClassifier c = RestClassifier.open(model.path(), null, precision.get())) {
      if (maxPixels.given()) c.maxPixels(maxPixels.orElse(c.maxPixels()));
      int k = Math.min(topK, c.labels().size());
      for (int from = 0; from < images.size(); from += batch) {
        List<RestClassifier.ImageInput> inputs = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        for (Path p : images.subList(from, Math.min(images.size(), from + batch))) {
          try {
            inputs.add(RestClassifier.ImageInput.of(p));
          } catch (BadInputException e) {
            unreadable.add(e.getMessage());
          }
        }
        for (String u : unreadable) {
          err.println("rest-tf: " + u);
          failed++;
        }
        for (RestClassifier.ImageResult r : c.classifyEach(inputs)) {
          if (!r.ok()) {
            err.println("rest-tf: " + r.image() + ": " + r.error());
            failed++;
            continue;
          }
          StringBuilder line = new StringBuilder(r.image()).append(':');
          for (RestClassifier.Prediction p : c.top(r.classification().probabilities(), k)) {
            line.append(String.format(Locale.ROOT, "  %s %.4f", p.label(), p.probability()));
          }
          out.println(line);
        }
      }
    }
    return failed == 0 ? Main.OK : Main.BAD_INPUT;
  }
}
