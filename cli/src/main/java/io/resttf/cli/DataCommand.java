package io.resttf.cli;

import io.resttf.tensor.BadInputException;
import io.resttf.training.data.SyntheticScenes;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code rest-tf data}: datasets. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Datasets for training and evaluation.",
    subcommands = {DataCommand.SynthScenes.class, DataCommand.FashionMnistFolder.class, DataCommand.ToTfRecord.class, DataCommand.Inspect.class})
final class DataCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "missing subcommand: see rest-tf data --help");
  }

  @Command(name = "synth-scenes", mixinStandardHelpOptions = true,
      description = {
        "Writes a small semantic-segmentation dataset made from Debian's Fashion-MNIST: grey canvases cut into",
        "64-pixel cells, most holding an article pasted at 2x, silhouettes as masks (11 classes: background + the 10 Fashion-MNIST classes;",
        "255 = ignored on the ring around each silhouette). Layout as mmseg's datasets: DIR/{images,annotations}/{train,val}/NNNNN.png",
        "and DIR/classes.txt, written atomically. Train scenes use the Fashion-MNIST training set, val the test set."
      })
  static final class SynthScenes implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the dataset directory (must not exist)")
    Path out;

    @Option(names = "--train", paramLabel = "N", defaultValue = "1000", description = "training scenes (default ${DEFAULT-VALUE})")
    int train;

    @Option(names = "--val", paramLabel = "N", defaultValue = "200", description = "validation scenes (default ${DEFAULT-VALUE})")
    int val;

    @Option(names = "--size", paramLabel = "S", defaultValue = "128", description = "scene side, a multiple of 64 (default ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "scene layout seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
      if (!io.resttf.training.data.FashionMnist.installed()) {
        throw new BadInputException(io.resttf.training.data.FashionMnist.DEBIAN_DIR + ": Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
      }
      SyntheticScenes.write(out, train, val, size, seed);
      spec.commandLine().getOut().println("wrote " + out + ": " + train + " train and " + val + " val scenes of " + size + "x" + size
          + ", " + SyntheticScenes.CLASSES + " classes (" + out.resolve("classes.txt") + ")");
      return Main.OK;
    }
  }

  @Command(name = "fashion-mnist", mixinStandardHelpOptions = true,
      description = {
        "Writes Debian's Fashion-MNIST (dataset-fashion-mnist) as an image folder of 28x28 grayscale PNGs, one folder per",
        "class named INDEX-LABEL (so the folder order is the class order): DIR/0-T-shirt_top/test_00000.png ...,",
        "written atomically. Input for classify, train --data DIR, data to-tfrecord and the spark-* verbs."
      })
  static final class FashionMnistFolder implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the image folder (must not exist unless --force)")
    Path out;

    @Option(names = "--split", paramLabel = "SPLIT", defaultValue = "test", description = "test (10,000 images) or train (60,000) (default ${DEFAULT-VALUE})")
    String split;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "only the first N images (default 0: all)")
    int limit;

    @Option(names = "--force", description = "replace an existing DIR (only once the new one is complete)")
    boolean force;

    @Override
    public Integer call() {
      io.resttf.training.data.FashionMnist.Split s = switch (split) {
        case "test" -> io.resttf.training.data.FashionMnist.Split.TEST;
        case "train" -> io.resttf.training.data.FashionMnist.Split.TRAIN;
        default -> throw new BadInputException("--split " + split + ": expected test or train");
      };
      if (limit < 0) throw new BadInputException("--limit " + limit + ": must be 0 (all) or positive");
      if (!io.resttf.training.data.FashionMnist.installed()) {
        throw new BadInputException(io.resttf.training.data.FashionMnist.DEBIAN_DIR + ": Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
      }
      io.resttf.training.data.FashionMnist data = io.resttf.training.data.FashionMnist.load(s);
      int n = limit == 0 ? data.count() : Math.min(limit, data.count());
      java.util.List<String> labels = DemoModel.labels(DemoModel.configJson());
      io.resttf.util.AtomicFiles.writeDirectory(out, force, tmp -> {
        for (int c = 0; c < labels.size(); c++) java.nio.file.Files.createDirectories(tmp.resolve(classFolder(c, labels.get(c))));
        for (int i = 0; i < n; i++) {
          java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
          img.getRaster().setDataElements(0, 0, 28, 28, data.image(i));
          int c = data.label(i);
          Path file = tmp.resolve(classFolder(c, labels.get(c))).resolve(String.format(java.util.Locale.ROOT, "%s_%05d.png", split, i));
          if (!javax.imageio.ImageIO.write(img, "png", file.toFile())) throw new java.io.IOException("no PNG writer");
        }
      });
      spec.commandLine().getOut().printf(java.util.Locale.ROOT, "wrote %s: %,d Fashion-MNIST %s images in %d class folders%n", out, n, split, labels.size());
      return Main.OK;
    }

    static String classFolder(int index, String label) {
      return index + "-" + label.replaceAll("[^A-Za-z0-9-]", "_");
    }
  }

  @Command(name = "to-tfrecord", mixinStandardHelpOptions = true,
      description = {
        "Writes an image folder (one folder per class, or train/ and val/ folders of them) as TFRecord shards of",
        "tf.Example (image/encoded with the file's bytes unchanged, image/format, image/class/label, image/class/text,",
        "image/height, image/width): DIR/train-NNNNN-of-MMMMM.tfrecord (and val-…) and DIR/classes.txt, written atomically.",
        "Images are shuffled (--seed) and dealt round-robin, so every shard mixes the classes."
      })
  static final class ToTfRecord implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Parameters(index = "0", paramLabel = "IMAGE_FOLDER", description = "the image folder")
    Path folder;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the output directory (must not exist unless --force)")
    Path out;

    @Option(names = "--shards", paramLabel = "N", defaultValue = "1", description = "files per split (default ${DEFAULT-VALUE})")
    int shards;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "shuffle seed (default ${DEFAULT-VALUE})")
    long seed;

    @Mixin MaxPixelsOption maxPixels;

    @Option(names = "--force", description = "replace an existing output directory")
    boolean force;

    @Override
    public Integer call() {
      ProgressBar bar = ProgressBar.items("to-tfrecord", "images");
      var w = io.resttf.training.tfrecord.TfRecordDatasets.fromImageFolder(folder, out, shards, seed, maxPixels.orElse(io.resttf.util.ImageHeader.DEFAULT_MAX_PIXELS), force,
          done -> bar.update(done, done));
      int total = w.images().values().stream().mapToInt(Integer::intValue).sum();
      bar.finish(total, total);
      spec.commandLine().getOut().println("wrote " + out + ": " + w.images() + " images in " + w.shards() + " shard(s) per split, "
          + w.classes().size() + " classes (" + out.resolve("classes.txt") + ")");
      return Main.OK;
    }
  }

  @Command(name = "inspect", mixinStandardHelpOptions = true,
      description = "Reads a TFRecord file of tf.Example (checking every record's CRCs): records, feature keys with their"
          + " kinds, labels and image formats counted.")
  static final class Inspect implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Parameters(index = "0", paramLabel = "FILE", description = "a .tfrecord file")
    Path file;

    @Override
    public Integer call() {
      if (java.nio.file.Files.isDirectory(file)) throw new BadInputException(file + ": a directory; give one .tfrecord file");
      var s = io.resttf.training.tfrecord.TfRecordDatasets.inspect(file);
      var o = spec.commandLine().getOut();
      o.println("file:     " + file);
      o.println("records:  " + s.records() + " (" + s.bytes() + " bytes of tf.Example)");
      o.println("features:");
      s.features().forEach((k, v) -> o.printf("  %-22s %s%n", k, v));
      if (!s.labels().isEmpty()) o.println("labels:   " + s.labels());
      if (!s.formats().isEmpty()) o.println("formats:  " + s.formats());
      return Main.OK;
    }
  }
}
