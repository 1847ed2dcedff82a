package io.resttf.cli;

import io.resttf.model.Preprocessing;
import io.resttf.tensor.BadInputException;
import io.resttf.training.AugmentPreview;
import io.resttf.training.DataSpec;
import io.resttf.training.TrainOptions;
import io.resttf.util.ImageHeader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rest-tf augment-preview}: draws the batch a {@code train} run's first step is fed under a recipe (the same
 * options, seed and draws), each image with its soft label.
 */
@Command(
    name = "augment-preview",
    sortOptions = false,
    mixinStandardHelpOptions = true,
    description = {
      "Draws what a training run's first step is fed: the batch after crop, flip, RandAugment, random erasing and Mixup /"
          + " CutMix, as train prepares it with the same recipe, options and seed, each image with the largest classes of"
          + " its soft target. --batch images (default 16) into a PNG grid.",
      "Takes train's recipe and augmentation options (--recipe, --augment, --rrc-min-scale, --aa, --mixup, --cutmix,"
          + " --mixup-prob, --mixup-switch-prob, --reprob, --aug-repeats, --label-smoothing, --seed, --batch); the others"
          + " change no image"
          + " and are refused."
    })
final class AugmentPreviewCommand implements Callable<Integer> {
  /** The options of a recipe that change what the first step's images and targets are. */
  static final Set<String> DRAWN = Set.of("recipe", "batch", "seed", "augment", "rrc_min_scale", "aa", "mixup", "cutmix",
      "mixup_prob", "mixup_switch_prob", "reprob", "aug_repeats", "label_smoothing");
  static final int DEFAULT_COUNT = 16, MAX_COUNT = 256;

  @Spec CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR|fashion-mnist|tfrecord:PATH",
      description = "as train's --data: an image folder (one folder per class, or train/ and val/), fashion-mnist or tfrecord:PATH")
  String data;

  @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "the grid (written atomically)")
  Path out;

  @Option(names = "--size", paramLabel = "S", description = "image folder / TFRecord: crop size (default 224)")
  Integer size;

  @Option(names = "--channels", paramLabel = "C", description = "image folder / TFRecord: 3 (RGB, default) or 1 (grey)")
  Integer channels;

  @Option(names = "--limit", paramLabel = "N", description = "use only N images of the training split (as train's --limit)")
  Integer limit;

  @Mixin TrainOptionsMixin trainOptions;

  @Mixin MaxPixelsOption maxPixels;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    TrainOptions given = trainOptions.given();
    Set<String> ignored = new TreeSet<>();
    given.toJsonNode().fieldNames().forEachRemaining(k -> {
      if (!DRAWN.contains(k)) ignored.add("--" + k.replace('_', '-'));
    });
    if (!ignored.isEmpty()) {
      throw new BadInputException(String.join(", ", ignored) + ": changes no image augment-preview draws (it takes "
          + String.join(", ", DRAWN.stream().sorted().map(k -> "--" + k.replace('_', '-')).toList()) + ")");
    }
    if (!out.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
      throw new BadInputException("--out " + out + ": must name a .png file");
    }
    Path parent = out.toAbsolutePath().getParent();
    if (!Files.isDirectory(parent)) throw new BadInputException("--out " + out + ": no such directory " + parent);
    if (Files.isDirectory(out)) throw new BadInputException("--out " + out + ": is a directory");
    int count = given.batch != null ? given.batch : DEFAULT_COUNT;
    if (count < 1 || count > MAX_COUNT) throw new BadInputException("--batch must be in [1, " + MAX_COUNT + "], got " + count);
    boolean fashion = DataSpec.FASHION_MNIST.equals(data);
    String r = TrainCommand.recipeName(given, fashion);
    // the epoch count changes no draw of the first step
    TrainOptions options = TrainOptions.recipe(r, 1, count, TrainCommand.recipeFile(r)).overriddenBy(given);
    options.batch = count;
    options.validate();
    DataSpec ds = dataSpec(TrainOptions.FINETUNE_384.equals(r));
    int inChans = fashion ? 1 : channels == null ? 3 : channels;
    DataSpec.Data d = ds.open(inChans, options.seed);
    List<AugmentPreview.Sample> samples = AugmentPreview.firstStep(options, d);
    AugmentPreview.writePng(out, AugmentPreview.grid(samples, d.classes(), AugmentPreview.title(options)));
    o.println(AugmentPreview.title(options));
    o.printf("%d images of %s (%d×%d) → %s%n", samples.size(), d.layout(), d.pipeline().inputSize(), d.pipeline().inputSize(), out);
    o.flush();
    return Main.OK;
  }

  private DataSpec dataSpec(boolean at384) {
    int lim = limit == null ? 0 : limit;
    if (lim < 0) throw new BadInputException("--limit must be >= 0, got " + lim);
    if (DataSpec.FASHION_MNIST.equals(data)) {
      if (size != null) throw new BadInputException("--size does not apply to fashion-mnist (28 → pad 2 → ×2 = 64)");
      if (channels != null) throw new BadInputException("--channels does not apply to fashion-mnist (one channel)");
      return DataSpec.fashionMnist(lim);
    }
    if (channels != null && channels != 1 && channels != 3) throw new BadInputException("--channels must be 1 or 3, got " + channels);
    Preprocessing pre = Preprocessing.imagenet(channels == null ? 3 : channels)
        .withSize(size != null ? size : at384 ? TrainOptions.FINETUNE_384_SIZE : 224);
    long mp = maxPixels.orElse(ImageHeader.DEFAULT_MAX_PIXELS);
    if (data.startsWith(DataSpec.TFRECORD_PREFIX)) {
      return DataSpec.tfrecord(data.substring(DataSpec.TFRECORD_PREFIX.length()), lim, pre).withMaxPixels(mp);
    }
    Path dir = Path.of(data);
    if (!Files.isDirectory(dir)) throw new BadInputException("--data " + data + ": no such directory (or fashion-mnist, tfrecord:PATH)");
    return DataSpec.imageFolder(dir, 0, lim, pre).withMaxPixels(mp);
  }
}
