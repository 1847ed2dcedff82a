package io.resttf.cli;

import io.resttf.serving.RestClassifier;
import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code rest-tf bench-soak}: thousands of consecutive classify calls through the Java API, with the
 * process's resident memory sampled along the way — native leaks (an unclosed Tensor or Result per
 * call) show up as steady growth.
 */
@Command(
    name = "bench-soak",
    mixinStandardHelpOptions = true,
    description = {
      "Classifies the same image N times through the Java API (RestClassifier) and samples the process's",
      "resident memory (VmRSS); prints the samples and the growth after warm-up."
    })
final class BenchSoakCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--calls", paramLabel = "N", defaultValue = "5000", description = "default: ${DEFAULT-VALUE}")
  int calls;

  @Option(names = "--samples", paramLabel = "K", defaultValue = "10", description = "RSS samples (default ${DEFAULT-VALUE})")
  int samples;

  @Parameters(index = "0", paramLabel = "IMAGE", description = "an image file")
  Path image;

  @Override
  public Integer call() throws IOException {
    if (calls < samples || samples < 2) throw new BadInputException("--calls must be at least --samples, and --samples at least 2");
    PrintWriter out = spec.commandLine().getOut();
    byte[] bytes = Files.readAllBytes(image);
    try (RestClassifier c = RestClassifier.open(model.path())) {
      RestClassifier.ImageInput in = RestClassifier.ImageInput.of(image.getFileName().toString(), bytes);
      int every = calls / samples;
      long[] rss = new long[samples + 1];
      rss[0] = rssKb();
      ProgressBar bar = ProgressBar.items("classify calls", "calls");
      long t0 = System.nanoTime();
      String first = null;
      for (int i = 1; i <= calls; i++) {
        String label = c.classifyAll(List.of(in)).get(0).best().label();
        if (first == null) first = label;
        else if (!first.equals(label)) throw new IllegalStateException("answer changed at call " + i + ": " + label + " vs " + first);
        if (i % every == 0 && i / every <= samples) rss[i / every] = rssKb();
        bar.update(i, calls);
      }
      bar.finish(calls, calls);
      double secs = (System.nanoTime() - t0) / 1e9;
      out.printf(Locale.ROOT, "calls: %d in %.1f s (%.1f calls/s), answer %s every time%n", calls, secs, calls / secs, first);
      for (int k = 0; k <= samples; k++) out.printf(Locale.ROOT, "  after %5d calls: RSS %7.1f MB%n", k * every, rss[k] / 1024.0);
      // growth after warm-up (first sample after the first interval) to the end
      double growth = (rss[samples] - rss[1]) / 1024.0;
      out.printf(Locale.ROOT, "RSS growth from call %d to %d: %+.1f MB (%+.2f KB per call)%n", every, calls, growth,
          (rss[samples] - rss[1]) / (double) (calls - every));
    }
    return Main.OK;
  }

  /** Resident set size of this process in KB (Linux /proc). */
  static long rssKb() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux
    }
    return -1;
  }
}
