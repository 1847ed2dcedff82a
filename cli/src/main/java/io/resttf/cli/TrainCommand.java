package io.resttf.cli;

import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.Variants;
import io.resttf.model.Preprocessing;
import io.resttf.tensor.BadInputException;
import io.resttf.training.DataSpec;
import io.resttf.training.ModelSource;
import io.resttf.training.TrainOptions;
import io.resttf.training.Trainer;
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
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rest-tf train}: fine-tunes or trains a model on an image folder or Fashion-MNIST, then exports it. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Fine-tunes a model (--init) or trains one from scratch (--variant / --config) on an image folder (one folder"
          + " per class, or train/ and val/ folders of them) or on Fashion-MNIST: AdamW, warm-up + cosine (paper recipe)"
          + " or one-cycle (fashion recipe) schedule, gradient clipping, label smoothing, drop path, optionally an EMA of"
          + " the weights.",
      "",
      "Writes into --out: run.json, metrics.jsonl, curves.png, checkpoint/ (every epoch, and on Ctrl-C), best/ and,"
          + " at the end, savedmodel/NAME/1. Ctrl-C stops after the current step and keeps a checkpoint; --resume DIR"
          + " continues exactly where it stopped.",
      ""
    },
    footer = {"", "Recipes: paper = AdamW lr 1.5e-4 x batch/256, weight decay 0.05 (not on biases and norms), linear"
        + " warm-up then cosine to 1e-6, random resized crop + flip; fashion = the official Fashion-MNIST run (AdamW 2e-3"
        + " on every parameter, one-cycle, drop path 0.05, flips of whole batches). Both: label smoothing 0.1, clipping"
        + " at global norm 1.0. Default: fashion for --data fashion-mnist, else paper."})
final class TrainCommand implements Callable<Integer> {
  static final String DEMO = "demo";

  @Spec CommandSpec spec;

  @Option(names = "--data", paramLabel = "DIR|fashion-mnist", description = "an image folder, or fashion-mnist (Debian's dataset-fashion-mnist)")
  String data;

  @Option(names = "--init", paramLabel = "PATH|demo",
      description = "start from these weights: a SavedModel, a directory written by convert, an official .pth /"
          + " .safetensors file, or demo (the embedded Fashion-MNIST model)")
  String init;

  @Option(names = "--variant", paramLabel = "NAME", description = "train this released architecture from scratch")
  String variant;

  @Option(names = "--config", paramLabel = "FILE", description = "train this config from scratch (with --init: the config of a .pth file)")
  Path config;

  @Option(names = "--num-classes", paramLabel = "N", description = "classes of the new head (must match the data)")
  Integer numClasses;

  @Option(names = "--epochs", paramLabel = "E", description = "epochs to train") Integer epochs;

  @Option(names = "--batch", paramLabel = "B", description = "images per step (the last partial batch of an epoch is dropped)") Integer batch;

  @Option(names = "--out", paramLabel = "DIR", description = "the run directory (e.g. runs/NAME); must not exist")
  Path out;

  @Option(names = "--resume", paramLabel = "DIR", description = "continue the run in DIR where it stopped")
  Path resume;

  @Option(names = "--recipe", paramLabel = "paper|fashion", description = "the defaults of every option below (see the end)") String recipe;
  @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate") Double lr;
  @Option(names = "--schedule", paramLabel = "cosine|onecycle|constant", description = "learning-rate schedule") String schedule;
  @Option(names = "--warmup-epochs", paramLabel = "E", description = "cosine: linear warm-up epochs (default min(5, epochs/10))") Double warmupEpochs;
  @Option(names = "--min-lr", paramLabel = "LR", description = "cosine: final learning rate (default 1e-6)") Double minLr;
  @Option(names = "--pct-start", paramLabel = "F", description = "one-cycle: fraction of steps rising (default 0.1)") Double pctStart;
  @Option(names = "--div-factor", paramLabel = "F", description = "one-cycle: start at lr / F (default 25)") Double divFactor;
  @Option(names = "--final-div-factor", paramLabel = "F", description = "one-cycle: end at start / F (default 1e4)") Double finalDivFactor;
  @Option(names = "--weight-decay", paramLabel = "WD", description = "AdamW decoupled weight decay (default 0.05)") Double weightDecay;
  @Option(names = "--decay-all", negatable = true, description = "weight decay on biases and norms too") Boolean decayAll;
  @Option(names = "--beta1", paramLabel = "B") Double beta1;
  @Option(names = "--beta2", paramLabel = "B") Double beta2;
  @Option(names = "--eps", paramLabel = "E") Double eps;
  @Option(names = "--clip-norm", paramLabel = "N", description = "clip gradients to this global norm (0 = off)") Double clipNorm;
  @Option(names = "--label-smoothing", paramLabel = "E", description = "default 0.1; 0 = hard labels") Double labelSmoothing;
  @Option(names = "--drop-path", paramLabel = "P", description = "stochastic depth rate (default: the config's)") Double dropPath;
  @Option(names = "--dropout", paramLabel = "P", description = "dropout after MLP activation, fc2, attention projection (default 0)") Double dropout;
  @Option(names = "--attn-dropout", paramLabel = "P", description = "dropout on attention maps (default 0)") Double attnDropout;
  @Option(names = "--ema", negatable = true, description = "keep an EMA of the weights") Boolean ema;
  @Option(names = "--ema-decay", paramLabel = "D", description = "default 0.9999") Double emaDecay;
  @Option(names = "--freeze", paramLabel = "PARTS", split = ",", description = "do not train: stem, stage1..stage4, norm, head")
  List<String> freeze;
  @Option(names = "--fresh-head", negatable = true, description = "a new head even when the class count is unchanged") Boolean freshHead;
  @Option(names = "--seed", paramLabel = "N", description = "every random choice follows it (default 0)") Long seed;
  @Option(names = "--augment", paramLabel = "rrc-flip|flip|batch-flip|none", description = "training augmentation") String augment;
  @Option(names = "--rrc-min-scale", paramLabel = "F", description = "smallest random-resized-crop area (default 0.08)") Double rrcMinScale;
  @Option(names = "--export", paramLabel = "auto|best|last|ema", description = "weights of the final SavedModel") String export;

  @Option(names = "--val-split", paramLabel = "F", description = "image folder without val/: fraction held out (default 0.1)")
  Double valSplit;
  @Option(names = "--limit", paramLabel = "N", description = "use only N images of each split (Fashion-MNIST: the first N; folders: spread over the classes)") Integer limit;
  @Option(names = "--size", paramLabel = "S", description = "image folder: crop size (default: the model's, else 224)") Integer size;

  @Option(names = "--workers", paramLabel = "N", description = "data loading threads") Integer workers;
  @Option(names = "--threads", paramLabel = "N", description = "TensorFlow threads per op (default: all cores)") Integer threads;
  @Option(names = "--eval-batch", paramLabel = "N", defaultValue = "256", description = "images per evaluation batch") int evalBatch;
  @Option(names = "--name", paramLabel = "NAME", description = "model name of the export (default: the run directory's name)") String name;
  @Option(names = "--initial-eval", negatable = true, description = "evaluate before training (default: when fine-tuning)") Boolean initialEval;

  @Override
  public Integer call() throws Exception {
    PrintWriter o = spec.commandLine().getOut();
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
      RestConfig givenConfig = variant != null ? Variants.get(variant) : config != null && init == null ? RestConfig.read(config) : null;
      DataSpec givenData = data == null ? null : dataSpec(null, givenConfigInChans(givenConfig));
      trainer = Trainer.resume(resume, new Trainer.Given(givenConfig, givenData, givenOptions(), init == null ? null : initSource()), settings);
    } else {
      if (data == null) throw new BadInputException("--data is required (an image folder or fashion-mnist)");
      if (out == null) throw new BadInputException("--out is required (the run directory, e.g. runs/NAME)");
      if (epochs == null) throw new BadInputException("--epochs is required");
      if (batch == null) throw new BadInputException("--batch is required");
      if (init != null && variant != null) throw new BadInputException("--init and --variant exclude each other");
      if (init == null && variant == null && config == null) {
        throw new BadInputException("say what to train: --init CHECKPOINT_OR_SAVEDMODEL (fine-tune), --variant NAME or --config FILE (from scratch)");
      }
      if (variant != null && config != null) throw new BadInputException("--variant and --config exclude each other");
      ModelSource source = init != null ? loadInit() : null;
      RestConfig cfg = source != null ? source.config() : variant != null ? Variants.get(variant) : RestConfig.read(config);
      DataSpec ds = dataSpec(source, cfg.inChans());
      String r = recipe != null ? recipe : DataSpec.FASHION_MNIST.equals(ds.kind()) ? TrainOptions.FASHION : TrainOptions.PAPER;
      TrainOptions options = TrainOptions.recipe(r, epochs, batch).overriddenBy(givenOptions());
      if (numClasses != null) {
        int dataClasses = ds.open(cfg.inChans(), options.seed).classes().size();
        if (numClasses != dataClasses) {
          throw new BadInputException("--num-classes " + numClasses + " but the data has " + dataClasses + " classes");
        }
      }
      trainer = Trainer.start(out, cfg, source, ds, options, settings);
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

  private static int givenConfigInChans(RestConfig c) {
    return c == null ? 0 : c.inChans();
  }

  /** The options the user gave (everything else stays null: the recipe's, or the resumed run's). */
  private TrainOptions givenOptions() {
    TrainOptions g = new TrainOptions();
    g.recipe = recipe;
    g.epochs = epochs;
    g.batch = batch;
    g.lr = lr;
    g.schedule = schedule;
    g.warmupEpochs = warmupEpochs;
    g.minLr = minLr;
    g.pctStart = pctStart;
    g.divFactor = divFactor;
    g.finalDivFactor = finalDivFactor;
    g.weightDecay = weightDecay;
    g.decayAll = decayAll;
    g.beta1 = beta1;
    g.beta2 = beta2;
    g.eps = eps;
    g.clipNorm = clipNorm;
    g.labelSmoothing = labelSmoothing;
    g.dropPath = dropPath;
    g.dropout = dropout;
    g.attnDropout = attnDropout;
    g.ema = ema;
    g.emaDecay = emaDecay;
    g.freeze = freeze;
    g.freshHead = freshHead;
    g.seed = seed;
    g.augment = augment;
    g.rrcMinScale = rrcMinScale;
    g.export = export;
    return g;
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
    return DataSpec.imageFolder(Path.of(data), valSplit != null ? valSplit : 0.1, lim, pre);
  }

  private String initSource() {
    return DEMO.equals(init) ? DEMO : ModelSource.sourceName(Path.of(init));
  }

  private ModelSource loadInit() throws IOException {
    if (DEMO.equals(init)) {
      RestConfig cfg = RestConfig.fromJson(new String(DemoCommand.resourceBytes("config.json"), java.nio.charset.StandardCharsets.UTF_8), "demo config.json");
      Path tmp = Files.createTempDirectory("rest-tf-demo");
      try {
        Path weights = DemoCommand.copyResource("weights.pth", tmp);
        ModelSource m = ModelSource.read(weights, cfg, null);
        List<String> labels = new ArrayList<>();
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(DemoCommand.resourceBytes("config.json"))
            .path("labels").forEach(x -> labels.add(x.asText()));
        return new ModelSource(m.stateDict(), cfg, labels, DemoCommand.FASHION, DEMO);
      } finally {
        io.resttf.util.AtomicFiles.deleteQuietly(tmp);
      }
    }
    Path p = Path.of(init);
    RestConfig given = config != null ? RestConfig.read(config) : null;
    ProgressBar bar = ProgressBar.bytes("reading " + p.getFileName());
    long[] last = {0, 0};
    ModelSource m = ModelSource.read(p, given, (done, total) -> {
      last[0] = done;
      last[1] = total;
      bar.update(done, total);
    });
    bar.finish(last[0], last[1]);
    return m;
  }
}
