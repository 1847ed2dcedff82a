package io.resttf.cli;

import io.resttf.training.data.FashionMnist;
import io.resttf.serving.RestClassifier;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.training.DataSpec;
import io.resttf.training.Evaluation;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.FashionMnistDataset;
import io.resttf.training.data.ImageFolder;
import io.resttf.training.data.ImagePipeline;
import io.resttf.training.data.Prefetcher;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
      ""
    })
final class EvalCommand implements Callable<Integer> {
  static final int MAX_CONFUSION_CLASSES = 20;

  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--data", required = true, paramLabel = "DIR|fashion-mnist",
      description = "an image folder (one folder per class, or train/ and val/ folders of them), or fashion-mnist")
  String data;

  @Option(names = "--split", paramLabel = "auto|val|train|test|all", defaultValue = "auto",
      description = "which images: auto = val/ (or the test split of fashion-mnist), else all of the folder")
  String split;

  @Option(names = "--limit", paramLabel = "N", description = "only N images (Fashion-MNIST: the first N; folders: spread over the classes)") Integer limit;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "64") int batch;

  @Mixin PrecisionOption precision;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (batch < 1) throw new BadInputException("--batch must be >= 1");
    if (limit != null && limit < 1) throw new BadInputException("--limit must be >= 1");
    try (RestClassifier cl = RestClassifier.open(model.path(), null, precision.get())) {
      Path dir = cl.directory();
      List<String> labels = cl.labels();
      int classes = cl.config().numClasses();
      if (classes < 1) throw new BadInputException(dir + ": the model has no classification head");
      Dataset ds = dataset(cl);
      if (limit != null && !(ds instanceof FashionMnistDataset)) ds = DataSpec.limited(ds, limit);
      int n = limit == null ? ds.size() : Math.min(limit, ds.size());
      final Dataset images = ds;
      if (n == 0) throw new BadInputException(data + ": no images to evaluate");
      int[] map = labelMap(images.classes(), labels, out);
      Evaluation ev = new Evaluation(classes);
      List<String> errors = new ArrayList<>();
      ProgressBar bar = ProgressBar.items("eval", "img");
      boolean fashion = DataSpec.FASHION_MNIST.equals(data);
      ImagePipeline pipe = fashion ? new ImagePipeline(cl.preprocessing(), cl.config().inChans()) : null;
      int batches = (n + batch - 1) / batch;
      try (Prefetcher<Object[]> loader = new Prefetcher<>(j -> load(images, pipe, j * batch, Math.min(n, (j + 1) * batch)),
          0, batches, 2, 3)) {
        long done = 0;
        while (loader.hasNext()) {
          Object[] b = loader.next();
          @SuppressWarnings("unchecked")
          List<Integer> ys = (List<Integer>) b[1];
          @SuppressWarnings("unchecked")
          List<String> errs = (List<String>) b[2];
          errors.addAll(errs);
          int m = ys.size();
          int[] y = new int[m];
          for (int i = 0; i < m; i++) y[i] = map[ys.get(i)];
          if (fashion) {
            float[] px = (float[]) b[0];
            if (m > 0) {
              int side = pipe.inputSize();
              HostTensor in = HostTensor.ofFloats(new long[] {m, side, side, pipe.channels()}, px);
              ev.add(cl.predict(in).logits().toFloats(), y, m);
            }
          } else {
            @SuppressWarnings("unchecked")
            List<RestClassifier.ImageInput> imgs = (List<RestClassifier.ImageInput>) b[0];
            List<RestClassifier.ImageResult> res = imgs.isEmpty() ? List.of() : cl.classifyEach(imgs);
            List<Integer> okLabels = new ArrayList<>();
            List<float[]> okProbs = new ArrayList<>();
            for (int i = 0; i < res.size(); i++) {
              if (res.get(i).ok()) {
                okLabels.add(y[i]);
                okProbs.add(res.get(i).classification().probabilities());
              } else {
                errors.add(res.get(i).image() + ": " + res.get(i).error());
              }
            }
            float[] logits = new float[okProbs.size() * classes];
            for (int i = 0; i < okProbs.size(); i++) {
              float[] p = okProbs.get(i);
              // log-probabilities rank like logits, and give the cross-entropy exactly
              for (int c = 0; c < classes; c++) logits[i * classes + c] = (float) Math.log(Math.max(p[c], Float.MIN_VALUE));
            }
            ev.add(logits, okLabels.stream().mapToInt(Integer::intValue).toArray(), okLabels.size());
          }
          done += m + errs.size();
          bar.update(done, n);
        }
        bar.finish(done, n);
      }
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

  private Dataset dataset(RestClassifier cl) {
    if (DataSpec.FASHION_MNIST.equals(data)) {
      FashionMnist.Split s = switch (split) {
        case "auto", "test", "val" -> FashionMnist.Split.TEST;
        case "train" -> FashionMnist.Split.TRAIN;
        default -> throw new BadInputException("--split for fashion-mnist: test (auto) or train, got " + split);
      };
      return FashionMnistDataset.load(s, 0);
    }
    Path dir = Path.of(data);
    int c = cl.config().inChans();
    ImageFolder.Split s = ImageFolder.open(dir, c, 0, 0);
    boolean layout = Files.isDirectory(dir.resolve("train"));
    return switch (split) {
      case "auto" -> s.val() != null ? s.val() : s.train();
      case "val", "test" -> {
        if (s.val() == null) throw new BadInputException(dir + ": no val/ (or validation/, test/) folder for --split " + split);
        yield s.val();
      }
      case "train" -> {
        if (!layout) throw new BadInputException(dir + ": no train/ folder for --split train");
        yield s.train();
      }
      case "all" -> {
        if (layout) throw new BadInputException(dir + ": has train/ and val/ folders; choose --split train or val");
        yield s.train();
      }
      default -> throw new BadInputException("--split must be auto, val, train, test or all, got " + split);
    };
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

  /** One batch: pixels (Fashion) or encoded images (folders), labels, decode errors. */
  private static Object[] load(Dataset ds, ImagePipeline pipe, int from, int to) {
    List<Integer> ys = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    if (pipe != null) {
      float[] px = new float[(to - from) * pipe.sampleSize()];
      int m = 0;
      for (int i = from; i < to; i++) {
        try {
          pipe.eval(ds.image(i), px, m * pipe.sampleSize());
          ys.add(ds.label(i));
          m++;
        } catch (Dataset.DecodeException e) {
          errors.add(e.getMessage());
        }
      }
      return new Object[] {m * pipe.sampleSize() == px.length ? px : java.util.Arrays.copyOf(px, m * pipe.sampleSize()), ys, errors};
    }
    List<RestClassifier.ImageInput> imgs = new ArrayList<>();
    for (int i = from; i < to; i++) {
      Path file = Path.of(ds.describe(i)); // an image folder's sample is its file
      try {
        imgs.add(RestClassifier.ImageInput.of(file.toString(), Files.readAllBytes(file)));
        ys.add(ds.label(i));
      } catch (IOException | RuntimeException e) {
        errors.add(file + ": cannot read (" + e.getMessage() + ")");
      }
    }
    return new Object[] {imgs, ys, errors};
  }
}
