package io.resttf.cli;

import io.resttf.serving.RestClassifier;
import io.resttf.util.ImageHeader;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.training.DataSpec;
import io.resttf.training.Evaluation;
import io.resttf.training.Evaluator;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.FashionMnistDataset;
import io.resttf.training.data.ImagePipeline;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rest-tf eval}: top-1 / top-5 accuracy and a confusion matrix of a SavedModel on labelled images. */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = {
      "Evaluates an exported model on labelled images: top-1 and top-5 accuracy, mean cross-entropy, and the"
          + " confusion matrix for up to 20 classes. Image folders go through the model's own in-graph preprocessing"
          + " (classify_images); Fashion-MNIST through the same preprocessing in Java (its IDX files hold pixels, not"
          + " image files). Images that cannot be decoded are counted and reported, not fatal.",
      "A segmentation export is scored on a split of images/ + annotations/ (DIR/val when DIR has one) through its own"
          + " test pipeline: per-class IoU, mIoU and pixel accuracy as mmseg computes them.",
      ""
    })
final class EvalCommand implements Callable<Integer> {
  static final int MAX_CONFUSION_CLASSES = 20;

  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--data", required = true, paramLabel = "DIR|fashion-mnist|tfrecord:PATH",
      description = "an image folder (one folder per class, or train/ and val/ folders of them), or fashion-mnist")
  String data;

  @Option(names = "--split", paramLabel = "auto|val|train|test|all", defaultValue = "auto",
      description = "which images: auto = val/ (or the test split of fashion-mnist), else all of the folder")
  String split;

  @Option(names = "--limit", paramLabel = "N", description = "only N images (Fashion-MNIST: the first N; folders: spread over the classes)") Integer limit;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "64") int batch;

  @Mixin PrecisionOption precision;

  @Mixin MaxPixelsOption maxPixels;

  /** Whether the export's rest_tf.json says it is a segmentor. */
  private static boolean isSegmentationExport(Path versionDir) {
    try {
      var meta = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
          versionDir.resolve("assets").resolve(io.resttf.serving.SavedModelExporter.METADATA_ASSET).toFile());
      return meta != null && io.resttf.serving.SavedModelExporter.TASK_SEGMENTATION.equals(meta.path("task").asText());
    } catch (IOException e) {
      return false; // RestClassifier.open reports what is wrong with it
    }
  }

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (batch < 1) throw new BadInputException("--batch must be >= 1");
    if (limit != null && limit < 1) throw new BadInputException("--limit must be >= 1");
    if (isSegmentationExport(model.versionDir())) {
      if (limit != null || !"auto".equals(split)) throw new BadInputException("--limit and --split apply to classifiers; a segmentation export reads DIR/val (or DIR)");
      return SegmentationEval.run(model.path(), data, out);
    }
    try (RestClassifier cl = RestClassifier.open(model.path(), null, precision.get())) {
      Path dir = cl.directory();
      List<String> labels = cl.labels();
      int classes = cl.config().numClasses();
      if (classes < 1) throw new BadInputException(dir + ": the model has no classification head");
      Dataset images = DataSpec.evaluationSet(data, split, limit == null ? 0 : limit, cl.config().inChans(),
          maxPixels.orElse(ImageHeader.DEFAULT_MAX_PIXELS));
      int n = images.size();
      if (n == 0) throw new BadInputException(data + ": no images to evaluate");
      int[] map = labelMap(images.classes(), labels, out);
      ProgressBar bar = ProgressBar.items("eval", "img");
      Evaluator evaluator = new Evaluator(batch, 2, 3);
      // Fashion-MNIST's IDX files hold pixels: the Java pipeline prepares them; image files go through the model's own preprocessing
      Evaluator.Outcome outcome = DataSpec.FASHION_MNIST.equals(data)
          ? evaluator.evaluate(images, new ImagePipeline(cl.preprocessing(), cl.config().inChans()), classes, map,
              (shape, pixels) -> cl.predict(HostTensor.ofFloats(shape, pixels)).logits().toFloats(), bar::update)
          : evaluator.evaluateFiles(images, cl, map, bar::update);
      bar.finish(n, n);
      Evaluation ev = outcome.evaluation();
      List<String> errors = outcome.errors();
      out.printf(Locale.ROOT, "model: %s (%s %s, %d classes)%n", cl.directory(), cl.config().family(), cl.config().embedDims(), classes);
      out.printf(Locale.ROOT, "data: %s, %d images%n", describe(images), n);
      if (ev.count() == 0) throw new BadInputException(data + ": none of the " + n + " images could be decoded (" + errors.get(0) + ")");
      out.printf(Locale.ROOT, "top-1: %.2f %% (%d / %d)%n", 100 * ev.top1(), Math.round(ev.top1() * ev.count()), ev.count());
      out.printf(Locale.ROOT, "top-%d: %.2f %%%n", Math.min(5, classes), 100 * ev.top5());
      out.printf(Locale.ROOT, "mean cross-entropy: %.4f%n", ev.loss());
      out.printf(Locale.ROOT, "decode errors: %d%n", errors.size());
      for (int i = 0; i < Math.min(5, errors.size()); i++) out.println("  " + errors.get(i));
      if (errors.size() > 5) out.println("  … " + (errors.size() - 5) + " more");
      String table = ev.confusionTable(labels, MAX_CONFUSION_CLASSES);
      if (table != null) {
        out.println("confusion matrix (rows: true class, columns: predicted):");
        out.print(table);
      } else {
        out.println("confusion matrix: not shown for more than " + MAX_CONFUSION_CLASSES + " classes");
      }
      out.flush();
      return Main.OK;
    }
  }

  private String describe(Dataset ds) {
    if (ds instanceof FashionMnistDataset) return ds.describe(0).replaceAll("\\[0\\]$", "");
    return ds.size() > 0 ? Path.of(ds.describe(0)).getParent().getParent().toString() : data;
  }

  /** Dataset label → model class: by name when every folder names a model label, else by position. */
  static int[] labelMap(List<String> dataClasses, List<String> modelLabels, PrintWriter out) {
    int[] map = new int[dataClasses.size()];
    boolean byName = true;
    for (int i = 0; i < dataClasses.size(); i++) {
      int j = modelLabels.indexOf(dataClasses.get(i));
      if (j < 0) {
        byName = false;
        break;
      }
      map[i] = j;
    }
    if (byName) return map;
    if (dataClasses.size() != modelLabels.size()) {
      throw new BadInputException("the data has " + dataClasses.size() + " classes " + abbreviate(dataClasses) + " but the model "
          + modelLabels.size() + " " + abbreviate(modelLabels) + ", and the names do not match");
    }
    out.println("note: class folders do not match the model's labels by name; matched by sorted position");
    for (int i = 0; i < map.length; i++) map[i] = i;
    return map;
  }

  private static String abbreviate(List<String> l) {
    return l.size() <= 6 ? l.toString() : l.subList(0, 6).toString().replace("]", ", …]");
  }
}
