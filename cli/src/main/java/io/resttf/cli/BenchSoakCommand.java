package io.resttf.cli;

import io.resttf.serving.RestClassifier;
import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
 * {@code rest-tf bench-soak}: tens of thousands of consecutive classify calls through the Java API, with
 * the process's resident memory sampled along the way. A native leak (an unclosed Tensor or Result per
 * call) grows RSS in proportion to the calls; warm-up (JIT, allocator pools) grows it in steps that stop.
 * The least-squares slope over the last half of the calls tells the two apart.
 */
@Command(
    name = "bench-soak",
    mixinStandardHelpOptions = true,
    description = {
      "Classifies the same image N times through the Java API (RestClassifier) and samples the process's",
      "resident memory (VmRSS); prints RSS at the quarters and the least-squares RSS slope over the last half",
      "of the calls (KB per 1000 calls): flat when the growth it predicts over that half is within noise (1 MB)."
    })
final class BenchSoakCommand implements Callable<Integer> {
  /** Growth over the last half, as fitted, that still counts as flat (page-granular RSS, allocator noise). */
  static final double NOISE_KB = 1024;

  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--calls", paramLabel = "N", defaultValue = "50000", description = "default: ${DEFAULT-VALUE}")
  int calls;

  @Option(names = "--samples", paramLabel = "K", defaultValue = "100", description = "RSS samples (default ${DEFAULT-VALUE})")
  int samples;

  @Parameters(index = "0", paramLabel = "IMAGE", description = "an image file")
  Path image;

  @Override
  public Integer call() throws IOException {
    if (samples < 4 || calls < samples) throw new BadInputException("--samples must be at least 4, and --calls at least --samples");
    PrintWriter out = spec.commandLine().getOut();
    byte[] bytes = Files.readAllBytes(image);
    try (RestClassifier c = RestClassifier.open(model.path())) {
      RestClassifier.ImageInput in = RestClassifier.ImageInput.of(image.getFileName().toString(), bytes);
      long[] at = new long[samples + 1];
      long[] rss = new long[samples + 1];
      for (int k = 0; k <= samples; k++) at[k] = (long) calls * k / samples;
      rss[0] = rssKb();
      ProgressBar bar = ProgressBar.items("classify calls", "calls");
      long t0 = System.nanoTime();
      String first = null;
      int next = 1;
      for (int i = 1; i <= calls; i++) {
        String label = c.classifyAll(List.of(in)).get(0).best().label();
        if (first == null) first = label;
        else if (!first.equals(label)) throw new IllegalStateException("answer changed at call " + i + ": " + label + " vs " + first);
        while (next <= samples && at[next] == i) rss[next++] = rssKb();
        bar.update(i, calls);
      }
      bar.finish(calls, calls);
      double secs = (System.nanoTime() - t0) / 1e9;
      out.printf(Locale.ROOT, "calls: %d in %.1f s (%.1f calls/s), answer %s every time%n", calls, secs, calls / secs, first);
      for (int q = 0; q <= 4; q++) {
        int k = samples * q / 4;
        out.printf(Locale.ROOT, "  RSS after %6d calls: %7.1f MB%n", at[k], rss[k] / 1024.0);
      }
      int half = samples / 2;
      double slope = slopePer1000(Arrays.copyOfRange(at, half, samples + 1), Arrays.copyOfRange(rss, half, samples + 1));
      double fitted = slope * (at[samples] - at[half]) / 1000.0;
      out.printf(Locale.ROOT, "RSS slope over calls %d to %d: %+.1f KB per 1000 calls (fitted growth %+.2f MB): %s%n",
          at[half], at[samples], slope, fitted / 1024.0, Math.abs(fitted) <= NOISE_KB ? "flat (within noise)" : "GROWING");
    }
    return Main.OK;
  }

  /** Least-squares slope of {@code kb} against {@code calls}, in KB per 1000 calls. */
  static double slopePer1000(long[] calls, long[] kb) {
    int n = calls.length;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
      mx += calls[i];
      my += kb[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0;
    for (int i = 0; i < n; i++) {
      sxy += (calls[i] - mx) * (kb[i] - my);
      sxx += (calls[i] - mx) * (calls[i] - mx);
    }
    return sxx == 0 ? 0 : 1000 * sxy / sxx;
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
