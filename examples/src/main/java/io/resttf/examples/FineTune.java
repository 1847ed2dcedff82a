package io.resttf.examples;

import io.resttf.model.Preprocessing;
import io.resttf.serving.RestClassifier;
import io.resttf.training.DataSpec;
import io.resttf.training.ModelSource;
import io.resttf.training.TrainOptions;
import io.resttf.training.Trainer;
import io.resttf.training.TrainingListener;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Fine-tuning with the Java API: start from released (or exported) weights, train a fresh head and the
 * rest of the network on an image folder (one folder per class), export a SavedModel, classify with it.
 *
 * <pre>
 * java -cp "examples/target/rest-tf-examples-0.1.0-SNAPSHOT.jar:cli/target/lib/*" io.resttf.examples.FineTune \
 *     restv2_tiny_224.pth my-images/ runs/my-model 10 [image-to-classify.jpg]
 * </pre>
 *
 * The run directory gets run.json, metrics.jsonl, curves.png, checkpoint/ (every epoch), best/ and the
 * SavedModel in savedmodel/NAME/1; {@code bin/rest-tf train --resume runs/my-model} continues a stopped run.
 */
public final class FineTune {
  private FineTune() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 4) {
      System.err.println("usage: FineTune WEIGHTS_OR_SAVEDMODEL IMAGE_FOLDER RUN_DIR EPOCHS [IMAGE]");
      System.exit(2);
    }
    // 1. The starting weights: an official .pth/.safetensors (config detected), a SavedModel, or a convert directory.
    ModelSource init = ModelSource.read(Path.of(args[0]), null, null);
    // 2. The data: evaluated with the model's own preprocessing (or ImageNet's), 10 % of each class held out.
    Preprocessing pre = init.preprocessing() != null ? init.preprocessing() : Preprocessing.imagenet(init.config().inChans());
    DataSpec data = DataSpec.imageFolder(Path.of(args[1]), 0.1, 0, pre);
    // 3. The papers' recipe (AdamW, warm-up + cosine, label smoothing, clipping), plus an EMA of the weights.
    TrainOptions given = new TrainOptions();
    given.ema = true;
    given.emaDecay = 0.999;
    TrainOptions options = TrainOptions.recipe(TrainOptions.PAPER, Integer.parseInt(args[3]), 32).overriddenBy(given);

    try (Trainer trainer = Trainer.start(Path.of(args[2]), null, init, data, options, Trainer.Settings.defaults())) {
      // trainer.requestStop() (from any thread) ends the run after the current step, with a checkpoint
      Trainer.Result r = trainer.run(new TrainingListener() {
        @Override
        public void onEvaluated(EvalEvent e) {
          System.out.printf(Locale.ROOT, "epoch %d (%s weights): val top-1 %.2f %%%n", e.epoch(), e.weights(), 100 * e.top1());
        }
      });
      System.out.println("SavedModel: " + r.export() + " (" + r.exportedWeights() + " weights)");
      // 4. The export is an ordinary rest-tf SavedModel: TF Serving, bin/rest-tf classify / eval, or the Java API.
      if (args.length > 4 && r.export() != null) {
        try (RestClassifier classifier = RestClassifier.open(r.export())) {
          System.out.println(classifier.classify(Path.of(args[4])).best());
        }
      }
    }
  }
}
