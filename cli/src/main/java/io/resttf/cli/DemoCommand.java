package io.resttf.cli;

import io.resttf.convert.Conversion;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.training.data.FashionMnist;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.serving.ExportMetadata;
import io.resttf.serving.RestClassifier;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.BadInputException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rest-tf demo}, the main job: the embedded Fashion-MNIST ResTv2 (official PyTorch checkpoint) →
 * convert → SavedModel → reload fresh → classify the shipped PNGs → (with Debian's dataset-fashion-mnist)
 * the whole test set, with accuracy and agreement with the official predictions.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Converts the embedded Fashion-MNIST-trained ResTv2 (an official .pth), exports it as a SavedModel under",
      "savedmodels/fashion_restv2_micro/1, reloads it fresh, classifies the 40 shipped test images and, when",
      "Debian's dataset-fashion-mnist is installed, the whole 10,000-image test set (accuracy, and agreement",
      "with the official PyTorch predictions)."
    })
final class DemoCommand implements Callable<Integer> {
  static final String MODEL_NAME = "fashion_restv2_micro";

  @Spec CommandSpec spec;

  @Option(names = "--base", paramLabel = "DIR", description = "where the SavedModel lands (default: savedmodels/ in the repository)")
  Path base;

  @Option(names = "--limit", paramLabel = "N", description = "evaluate only the first N test images (default: all 10,000)")
  Integer limit;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "250", description = "images per call (default ${DEFAULT-VALUE})")
  int batch;

  /** What the demo found, for tests. */
  record Report(int shipped, int shippedCorrect, int shippedAgree, int evaluated, int correct, int agree, double officialAccuracy) {}

  Report report;

  @Mixin PrecisionOption precision;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (batch < 1) throw new BadInputException("--batch must be at least 1, got " + batch);
    Path work = Files.createTempDirectory("rest-tf-demo");
    try {
      // 1. the embedded official checkpoint and its config
      Path pth = DemoModel.copy("weights.pth", work);
      RestConfig config = DemoModel.config();
      var cfgJson = DemoModel.configJson();
      List<String> labels = DemoModel.labels(cfgJson);
      double official = cfgJson.get("official_test_accuracy").asDouble();
      out.println("[1/5] model: ResTv2 " + config.embedDims() + " depths " + config.depths() + ", " + config.inChans()
          + " channel, " + config.numClasses() + " classes (official Fashion-MNIST checkpoint, embedded)");

      // 2. convert (strict: every official key maps onto the graph)
      Conversion c = WeightsFiles.reading(pth, progress -> Conversion.load(Conversion.Request.of(pth, config), progress));
      try (RestModel m = c.model()) {
        out.printf("[2/5] converted %s (%s, %s): %d tensors, %,d parameters%n", "weights.pth", c.weights().format(),
            c.weights().wrapper(), c.report().loaded(), m.network().params().numParameters());
      }

      // 3. export a SavedModel with the model's own preprocessing and labels
      ExportMetadata meta = ExportMetadata.forCheckpoint(pth).withSource("embedded:demo/weights.pth", Conversion.sha256(pth))
          .withLabels(labels).withPreprocessing(DemoModel.FASHION);
      SavedModelExporter.Result r = new SavedModelExporter(base != null ? base : Home.savedModels())
          .export(MODEL_NAME, config, c.weights().stateDict(), meta, SavedModelExporter.Options.DEFAULT.withVersion(1).withForce(true));
      out.println("[3/5] exported " + r.versionDir() + " (" + String.join(", ", r.signatures()) + ")");

      // 4. reload it fresh and classify the shipped images
      long[] official10k = Npy.read(DemoModel.copy("test_predictions.npy", work)).toLongs();
      try (RestClassifier clf = RestClassifier.open(r.versionDir(), null, precision.get())) {
        out.println("[4/5] reloaded; classifying the shipped test images (predicted / true / official):");
        List<String[]> index = shippedIndex();
        List<RestClassifier.ImageInput> inputs = new ArrayList<>();
        for (String[] row : index) inputs.add(RestClassifier.ImageInput.of(row[0], DemoModel.bytes("images/" + row[0])));
        List<RestClassifier.Classification> res = clf.classifyAll(inputs);
        int ok = 0, agree = 0;
        for (int i = 0; i < index.size(); i++) {
          String[] row = index.get(i);
          RestClassifier.Prediction best = res.get(i).best();
          int truth = Integer.parseInt(row[2]), off = Integer.parseInt(row[3]);
          ok += best.index() == truth ? 1 : 0;
          agree += best.index() == off ? 1 : 0;
          out.printf(Locale.ROOT, "      %s  %-12s %.3f  true %-12s official %-12s%s%n", row[0], best.label(), best.probability(),
              labels.get(truth), labels.get(off), best.index() == truth ? "" : "  ✗");
        }
        out.printf(Locale.ROOT, "      shipped images: %d/%d correct, %d/%d agree with the official predictions%n",
            ok, index.size(), agree, index.size());

        // 5. the whole test set, through the same classify_images signature (PNG bytes in)
        int n = 0, correct = 0, agreeAll = 0;
        if (FashionMnist.installed()) {
          FashionMnist test = FashionMnist.load(FashionMnist.Split.TEST);
          n = limit == null ? test.count() : Math.max(0, Math.min(limit, test.count()));
          ProgressBar bar = ProgressBar.items("[5/5] evaluating", "images");
          for (int from = 0; from < n; from += batch) {
            int to = Math.min(n, from + batch);
            List<RestClassifier.ImageInput> b = new ArrayList<>();
            for (int i = from; i < to; i++) b.add(RestClassifier.ImageInput.of("test[" + i + "]", png(test.image(i))));
            List<RestClassifier.Classification> out5 = clf.classifyAll(b);
            for (int i = from; i < to; i++) {
              int pred = out5.get(i - from).best().index();
              correct += pred == test.label(i) ? 1 : 0;
              agreeAll += pred == official10k[i] ? 1 : 0;
            }
            bar.update(to, n);
          }
          bar.finish(n, n);
          out.printf(Locale.ROOT, "[5/5] Fashion-MNIST test set: %d images, accuracy %.2f %% (official %.2f %%), agreement with the official predictions %.2f %%%n",
              n, 100.0 * correct / Math.max(1, n), 100 * official, 100.0 * agreeAll / Math.max(1, n));
        } else {
          out.println("[5/5] skipped: Debian's dataset-fashion-mnist is not installed (ci/deps installs it)");
        }
        report = new Report(index.size(), ok, agree, n, correct, agreeAll, official);
      }
      out.println("done. Serve it: tensorflow_model_server --model_config_file=" + r.modelsConfig() + "  or: bin/rest-tf classify --model "
          + r.versionDir().getParent() + " IMAGE...");
      return Main.OK;
    } finally {
      io.resttf.util.AtomicFiles.deleteQuietly(work);
    }
  }

  /** 28×28 grayscale bytes → PNG, as the dataset's images would arrive as files. */
  static byte[] png(byte[] pixels) {
    BufferedImage img = new BufferedImage(FashionMnist.SIDE, FashionMnist.SIDE, BufferedImage.TYPE_BYTE_GRAY);
    img.getRaster().setDataElements(0, 0, FashionMnist.SIDE, FashionMnist.SIDE, pixels);
    ByteArrayOutputStream bos = new ByteArrayOutputStream(1024);
    try {
      ImageIO.write(img, "png", bos);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bos.toByteArray();
  }

  /** Rows of images/index.csv: file, index, label, official_prediction. */
  static List<String[]> shippedIndex() throws IOException {
    List<String[]> rows = new ArrayList<>();
    String csv = new String(DemoModel.bytes("images/index.csv"), StandardCharsets.UTF_8);
    csv.lines().skip(1).filter(l -> !l.isBlank()).forEach(l -> rows.add(l.split(",")));
    return rows;
  }
}
