package io.resttf.cli;

import io.resttf.tensor.BadInputException;
import io.resttf.training.data.SyntheticScenes;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code rest-tf data}: datasets. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Datasets for training and evaluation.",
    subcommands = {DataCommand.SynthScenes.class})
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
}
