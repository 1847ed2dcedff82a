package io.resttf.cli;

import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.Preprocessing;
import io.resttf.tensor.BadInputException;
import io.resttf.training.DataSpec;
import io.resttf.training.ModelSource;
import io.resttf.training.TrainOptions;
import io.resttf.training.Trainer;
import io.resttf.util.ImageHeader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Files;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rest-tf train}: fine-tunes or trains a model on an image folder or Fashion-MNIST, then exports it. */
@Command(
    name = "train",
    sortOptions = false,
    description = {
      "Fine-tunes a model (--init) or trains one from scratch (--variant / --config) on an image folder (one folder"
          + " per class, or train/ and val/ folders of them) or on Fashion-MNIST: AdamW, warm-up + cosine (paper recipe)"
          + " or one-cycle (fashion recipe) schedule, gradient clipping, label smoothing, drop path, optionally an EMA of"
          + " the weights. With --init, --config gives the config of a .pth file (else it is detected from the shapes).",
      "",
      "Writes into --out: run.json, metrics.jsonl, curves.png, checkpoint/ (every epoch, and on Ctrl-C),"
          + " step-checkpoints/ (with --checkpoint-every N), best/ and, at the end, savedmodel/NAME/1. Ctrl-C stops"
          + " after the current step and keeps a checkpoint; --resume DIR continues exactly where the newest"
          + " checkpoint left off (a killed run loses at most N steps with --checkpoint-every N).",
      ""
    },
    footer = {"", "Recipes (--recipe; every option is printed at the start and written to RUN/recipe.json):",
        "  paper        the official ImageNet-1K training: AdamW lr 1.5e-4 x batch/256, weight decay 0.05 (not on biases and",
        "               norms), warm-up 1/6 of the epochs then cosine to 1e-6, EMA 0.9999, random resized crop + flip,",
        "               RandAugment rand-m9-mstd0.5-inc1, Mixup 0.8 / CutMix 1.0, random erasing 0.25",
        "  finetune     (default for image data) the same optimiser, warm-up min(5, epochs/10), crop + flip only",
        "  finetune-384 the official 384x384 fine-tuning: lr 1.5e-5 x batch/256, no warm-up, weight decay 1e-8, no Mixup or",
        "               CutMix; --size 384 unless given",
        "  fashion      (default for fashion-mnist) the official Fashion-MNIST run: AdamW 2e-3 on every parameter, one-cycle,",
        "               drop path 0.05, flips of whole batches",
        "  FILE.json    a run's recipe.json (every option), or some options over {\"base\": \"PRESET\"}",
        "All: label smoothing 0.1, clipping at global norm 1.0; options given on the command line win."})
final class TrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  // Options are listed in "order" (the run options come from a mixin of setter methods, which picocli
  // would list in no fixed order), so the help options are declared here to come last.
  @Option(names = {"-h", "--help"}, usageHelp = true, order = 90, description = "Show this help message and exit.")
  boolean help;

  @Option(names = {"-V", "--version"}, versionHelp = true, order = 91, description = "Print version information and exit.")
  boolean version;

  enum Task { classification, segmentation }

  @Option(names = "--task", order = 0, paramLabel = "classification|segmentation", defaultValue = "classification",
      description = "segmentation: an mmseg ResTv2 + UPerNet segmentor on a dataset DIR laid out as mmseg's (images/train,"
          + " annotations/train, images/val, annotations/val; or train/images ...) with classes.txt (data synth-scenes writes one); reads --data, --init (demo, a"
          + " classification or an mmseg checkpoint), --out, --epochs, --batch, --lr, --weight-decay, --seed, --head-channels")
  Task task;

  @Option(names = "--head-channels", order = 3, paramLabel = "N",
      description = "segmentation: UPerNet width (default 512 as the official configs; 64 with --init demo)")
  Integer headChannels;

  @Option(names = "--data", order = 1, paramLabel = "DIR|fashion-mnist|tfrecord:PATH",
      description = "an image folder, fashion-mnist (Debian's dataset-fashion-mnist), or tfrecord:DIR (a data to-tfrecord"
          + " output: train and val shards) / tfrecord:PATTERN (e.g. tfrecord:rec/train-*.tfrecord)")
  String data;

  @Option(names = "--init", order = 2, paramLabel = "PATH|demo",
      description = "start from these weights: a SavedModel, a directory written by convert, an official .pth /"
          + " .safetensors file, or demo (the embedded Fashion-MNIST model)")
  String init;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  ModelOptions model;

  @Option(names = "--num-classes", order = 5, paramLabel = "N", description = "classes of the new head (must match the data)")
  Integer numClasses;

  @Option(names = "--out", order = 8, paramLabel = "DIR", description = "the run directory (e.g. runs/NAME); must not exist")
  Path out;

  @Option(names = "--resume", order = 9, paramLabel = "DIR", description = "continue the run in DIR where it stopped")
  Path resume;

  @Mixin TrainOptionsMixin trainOptions;

  @Mixin MaxPixelsOption maxPixels;

  @Option(names = "--val-split", order = 40, paramLabel = "F", description = "image folder without val/: fraction held out (default 0.1)")
  Double valSplit;
  @Option(names = "--limit", order = 41, paramLabel = "N", description = "use only N images of each split (Fashion-MNIST: the first N; folders: spread over the classes)") Integer limit;
  @Option(names = "--size", order = 42, paramLabel = "S", description = "image folder: crop size (default: the model's, else 224)") Integer size;

  @Option(names = "--workers", order = 43, paramLabel = "N", description = "data loading threads") Integer workers;
  @Option(names = "--threads", order = 44, paramLabel = "N", description = "TensorFlow threads per op (default: all cores)") Integer threads;
  @Option(names = "--eval-batch", order = 45, paramLabel = "N", defaultValue = "256", description = "images per evaluation batch") int evalBatch;
  @Option(names = "--name", order = 46, paramLabel = "NAME", description = "model name of the export (default: the run directory's name)") String name;
  @Option(names = "--initial-eval", order = 47, negatable = true, description = "evaluate before training (default: when fine-tuning)") Boolean initialEval;

  @Override
  public Integer call() throws Exception {
    PrintWriter o = spec.commandLine().getOut();
    if (task == Task.segmentation) return new SegmentationTrainRun(this).run(o);
    if (headChannels != null) throw new BadInputException("--head-channels applies to --task segmentation");
    Trainer.Settings settings = Trainer.Settings.defaults().withEvalBatch(evalBatch).withExportName(name)
        .withInitialEval(initialEval != null ? initialEval : init != null);
    if (workers != null) {
      if (workers < 1) throw new BadInputException("--workers must be >= 1");
      settings = settings.withWorkers(workers);
    }
    if (threads != null) {
      if (threads < 1) throw new BadInputException("--threads must be >= 1");
      settings = settings.withSession(RestModel.threads(threads, 2));
    }
    Trainer trainer;
    if (resume != null) {
      if (out != null && !out.toAbsolutePath().normalize().equals(resume.toAbsolutePath().normalize())) {
        throw new BadInputException("--resume continues in its own directory; leave out --out (or give the same)");
      }
      RestConfig givenConfig = model != null && (model.variant != null || init == null) ? model.resolve() : null;
      DataSpec givenData = data == null ? null : dataSpec(null, givenConfigInChans(givenConfig));
      // without --data, these are checked against the run's data on their own
      Trainer.DataChoices choices = data == null ? new Trainer.DataChoices(limit, valSplit, size) : Trainer.DataChoices.NONE;
      trainer = Trainer.resume(resume, new Trainer.Given(givenConfig, givenData, trainOptions.given(),
          init == null ? null : initSource(), choices), settings);
    } else {
      if (data == null) throw new BadInputException("--data is required (an image folder or fashion-mnist)");
      if (out == null) throw new BadInputException("--out is required (the run directory, e.g. runs/NAME)");
      TrainOptions given = trainOptions.given();
      if (init != null && model != null && model.variant != null) throw new BadInputException("--init and --variant exclude each other");
      if (init == null && model == null) {
        throw new BadInputException("say what to train: --init CHECKPOINT_OR_SAVEDMODEL (fine-tune), --variant NAME or --config FILE (from scratch)");
      }
      boolean fashion = DataSpec.FASHION_MNIST.equals(data);
      String r = recipeName(given, fashion);
      TrainOptions options = TrainOptions.recipe(r, given.epochs, given.batch, recipeFile(r)).overriddenBy(given);
      // 384² fine-tuning trains at 384² (image data; Fashion-MNIST has its own fixed pipeline)
      if (TrainOptions.FINETUNE_384.equals(r) && size == null && !fashion) size = TrainOptions.FINETUNE_384_SIZE;
      ModelSource source = init != null ? loadInit() : null;
      RestConfig cfg = source != null ? source.config() : model.resolve();
      DataSpec ds = dataSpec(source, cfg.inChans());
      printRecipe(o, options);
      if (numClasses != null) {
        int dataClasses = ds.open(cfg.inChans(), options.seed).classes().size();
        if (numClasses != dataClasses) {
          throw new BadInputException("--num-classes " + numClasses + " but the data has " + dataClasses + " classes");
        }
      }
      trainer = Trainer.start(out, cfg, source, ds, options, settings);
      if (options.layerDecay != 1.0) {
        o.println("layer-wise lr decay " + options.layerDecay + " (parameter groups): "
            + String.join(", ", trainer.parameterGroups().stream().map(Object::toString).toList()));
        o.flush();
      }
    }
    try (Trainer t = trainer) {
      Trainer.Result result = TrainInterrupts.withCtrlC(t::requestStop,
          () -> t.run(new TrainProgress(o, spec.commandLine().getErr(), System.err)));
      if (!result.finished()) {
        o.printf(Locale.ROOT, "stopped after step %d; checkpoint in %s%ncontinue with: bin/rest-tf train --resume %s%n",
            result.step(), t.runDirectory().checkpointDir(), t.runDir());
        o.flush();
        return 130;
      }
      if (result.valTop1() != null) {
        o.printf(Locale.ROOT, "final: val top-1 %.2f %%, top-5 %.2f %%%s%s%n", 100 * result.valTop1(), 100 * result.valTop5(),
            result.emaTop1() != null ? String.format(Locale.ROOT, ", EMA top-1 %.2f %%", 100 * result.emaTop1()) : "",
            result.bestTop1() != null ? String.format(Locale.ROOT, ", best top-1 %.2f %%", 100 * result.bestTop1()) : "");
      }
      if (!Double.isNaN(result.secondsPerStep())) o.printf(Locale.ROOT, "time per step: %.3f s%n", result.secondsPerStep());
      o.printf("SavedModel (%s weights): %s%n", result.exportedWeights(), result.export());
      o.flush();
      return Main.OK;
    }
  }

  /** The recipe asked for: --recipe, else fashion for Fashion-MNIST and finetune for image data. */
  static String recipeName(TrainOptions given, boolean fashion) {
    return given.recipe != null ? given.recipe : fashion ? TrainOptions.FASHION : TrainOptions.FINETUNE;
  }

  /** Null for a preset, else the recipe file, which must exist. */
  static Path recipeFile(String recipe) {
    if (TrainOptions.PRESETS.contains(recipe)) return null;
    Path file = Path.of(recipe);
    if (!Files.isRegularFile(file)) {
      throw new BadInputException("--recipe " + recipe + ": no preset (" + String.join(", ", TrainOptions.PRESETS) + ") and no such file");
    }
    return file;
  }

  /** Every option of the run, before it starts: "recipe NAME: key value, key value, ..." wrapped at ~110 columns. */
  static void printRecipe(PrintWriter o, TrainOptions options) {
    StringBuilder line = new StringBuilder("recipe " + options.recipe + ":");
    List<String> items = new ArrayList<>();
    options.toJsonNode().fields().forEachRemaining(e -> {
      if (!e.getKey().equals("recipe")) items.add(e.getKey() + " " + (e.getValue().isTextual() ? e.getValue().asText() : e.getValue()));
    });
    for (String item : items) {
      if (line.length() + item.length() > 110) {
        o.println(line);
        line = new StringBuilder("  ");
      } else if (line.length() > 2) {
        line.append(line.toString().endsWith(":") ? " " : ", ");
      }
      line.append(item);
    }
    o.println(line);
    o.flush();
  }

  private static int givenConfigInChans(RestConfig c) {
    return c == null ? 0 : c.inChans();
  }

  private DataSpec dataSpec(ModelSource source, int inChans) {
    int lim = limit == null ? 0 : limit;
    if (lim < 0) throw new BadInputException("--limit must be >= 0");
    if (DataSpec.FASHION_MNIST.equals(data)) {
      if (size != null) throw new BadInputException("--size does not apply to fashion-mnist (28 → pad 2 → ×2 = 64)");
      if (valSplit != null) throw new BadInputException("--val-split does not apply to fashion-mnist (its test split validates)");
      return DataSpec.fashionMnist(lim);
    }
    Preprocessing pre;
    if (source != null && source.preprocessing() != null) {
      pre = source.preprocessing();
    } else {
      pre = Preprocessing.imagenet(inChans == 0 ? 3 : inChans);
    }
    if (size != null) pre = pre.withSize(size);
    if (data.startsWith(DataSpec.TFRECORD_PREFIX)) {
      if (valSplit != null) throw new BadInputException("--val-split does not apply to TFRecord data (val-*.tfrecord shards validate)");
      return DataSpec.tfrecord(data.substring(DataSpec.TFRECORD_PREFIX.length()), lim, pre)
          .withMaxPixels(maxPixels.orElse(ImageHeader.DEFAULT_MAX_PIXELS));
    }
    return DataSpec.imageFolder(Path.of(data), valSplit != null ? valSplit : 0.1, lim, pre)
        .withMaxPixels(maxPixels.orElse(ImageHeader.DEFAULT_MAX_PIXELS));
  }

  private String initSource() {
    return DemoModel.INIT_NAME.equals(init) ? DemoModel.INIT_NAME : ModelSource.sourceName(Path.of(init));
  }

  private ModelSource loadInit() throws IOException {
    if (DemoModel.INIT_NAME.equals(init)) return DemoModel.modelSource();
    Path p = Path.of(init);
    RestConfig given = model != null ? model.resolve() : null;
    return ProgressBar.reading(p, progress -> ModelSource.read(p, given, progress));
  }
}
