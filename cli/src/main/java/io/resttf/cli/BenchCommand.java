package io.resttf.cli;

import io.resttf.model.ResourceEstimate;
import io.resttf.model.RestConfig;
import io.resttf.model.Precision;
import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import io.resttf.util.ThreadPools;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.types.TFloat32;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rest-tf bench}: inference speed with random weights on random inputs. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Measures inference speed: random weights, a random input batch, warm-up runs, then timed runs"
          + " of the whole network (input fed once, only the logits fetched).",
      "Prints images/s and the per-batch latency (median, p90, p99); with --precision bf16 also the max logit"
          + " error and top-1 agreement against float32 on the same batch."
    })
final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "1")
  ModelOptions model;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "1", description = "batch size (default: ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--size", paramLabel = "S", defaultValue = "224",
      description = "input height and width, a multiple of 32 (default: ${DEFAULT-VALUE})")
  int size;

  @Option(names = "--iters", paramLabel = "N", defaultValue = "20", description = "timed runs (default: ${DEFAULT-VALUE})")
  int iters;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "untimed runs first (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--threads", paramLabel = "N",
      description = "TensorFlow intra-op threads (default: TensorFlow's choice, one per core);"
          + " takes effect only for the first model of the process, as TF's CPU thread pool is process-wide")
  Integer threads;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "seed of the weights and input (default: ${DEFAULT-VALUE})")
  long seed;

  @Mixin PrecisionOption precision;

  @Option(names = "--profile", paramLabel = "N", defaultValue = "0",
      description = "after the timed runs, N traced runs: time per op type (TensorFlow step stats, as"
          + " executed after grappler and oneDNN rewrites), largest first (default: ${DEFAULT-VALUE})")
  int profile;

  @Option(names = "--compare-styles",
      description = "ResTv2 only: the window fine-tune styles global / win / cwin / hwin (ResTv2 paper §4.4) side by side"
          + " on one input (--input, default 800x1216), alternated --rounds times: MACs by kind and images/s")
  boolean compareStyles;

  @Option(names = "--input", paramLabel = "HxW",
      description = "with --compare-styles: the input size (default: 800x1216, a detection input)")
  String input;

  @Option(names = "--window-sizes", paramLabel = "N,N,N,N", split = ",",
      description = "with --compare-styles: window side per stage in tokens (default: the config's, 64,32,16,8)")
  List<Integer> windowSizes;

  @Option(names = "--rounds", paramLabel = "N", defaultValue = "2",
      description = "with --compare-styles: rounds of --iters runs per style, styles alternated (default: ${DEFAULT-VALUE})")
  int rounds;

  @Override
  public Integer call() {
    validate();
    if (compareStyles) return compareStyles();
    if (input != null || windowSizes != null) {
      throw new BadInputException("--input and --window-sizes go with --compare-styles (use --size otherwise)");
    }
    RestConfig config = model.resolve();
    ResourceEstimate.require("--batch " + batch + " --size " + size, config, batch, size, size, false)
        .requireInputOnHeap("--batch " + batch + " --size " + size);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Progress progress = new Progress(err, System.console() != null);

    if (threads != null) ThreadPools.size(threads, 0);
    long t0 = System.nanoTime();
    try (RestModel m = RestModel.create(config, null, precision.get())) {
      long t1 = System.nanoTime();
      m.initFresh(seed);
      long t2 = System.nanoTime();
      Operand<TFloat32> target = m.network().logits() != null ? m.network().logits() : m.network().pooled();
      Session session = m.session();
      double[] ms = new double[iters];
      try (TFloat32 in = randomInput(size, size, config.inChans())) {
        for (int i = 0; i < warmup; i++) {
          progress.step("warm-up", i + 1, warmup);
          runOnce(session, m, target, in);
        }
        for (int i = 0; i < iters; i++) {
          progress.step("iter", i + 1, iters);
          long s = System.nanoTime();
          runOnce(session, m, target, in);
          ms[i] = (System.nanoTime() - s) / 1e6;
        }
        report(out, config, (t1 - t0) / 1e6, (t2 - t1) / 1e6, ms);
        if (precision.get() != Precision.FP32 && m.network().logits() != null) compareWithFp32(out, config, m, in);
        if (profile > 0) {
          OpProfile p = new OpProfile();
          for (int i = 0; i < profile; i++) {
            p.add(session.runner().feed(m.network().input(), in).fetch(target));
          }
          p.print(out, profile);
        }
      }
    }
    return Main.OK;
  }

  /**
   * The four window styles of one ResTv2 config on one input: each model built and warmed up, then
   * {@code rounds} rounds in which every style runs {@code iters} times in turn (so drift in the machine's
   * load hits all alike), then MACs by kind and the median latency per style.
   */
  private int compareStyles() {
    if (rounds < 1 || rounds > 100) throw new BadInputException("--rounds must be between 1 and 100, got " + rounds);
    RestConfig base = model.resolve();
    if (base.family() != io.resttf.model.Family.V2 || !base.attention()) {
      throw new BadInputException("--compare-styles: window styles are for ResTv2 models with attention; "
          + model.describe() + " is " + (base.family() == io.resttf.model.Family.V1 ? "ResT (v1)" : "the ConvNet variant"));
    }
    int[] hw = SummaryCommand.parseInput(input == null ? "800x1216" : input);
    java.util.List<Integer> sizes = windowSizes == null ? base.windowSizes() : windowSizes;
    java.util.List<io.resttf.model.DesignSpace.WindowStyle> styles = java.util.List.of(io.resttf.model.DesignSpace.WindowStyle.values());
    java.util.List<RestConfig> configs = new java.util.ArrayList<>();
    for (var st : styles) {
      try {
        configs.add(base.withWindows(st, sizes).validate());
      } catch (BadInputException e) {
        throw new BadInputException("--window-sizes " + sizes + ": " + e.getMessage().replaceFirst("^config: ", ""));
      }
    }
    String what = "--batch " + batch + " --input " + hw[0] + "x" + hw[1];
    ResourceEstimate.require(what, base, batch, hw[0], hw[1], false).requireInputOnHeap(what);
    PrintWriter out = spec.commandLine().getOut();
    Progress progress = new Progress(spec.commandLine().getErr(), System.console() != null);
    if (threads != null) ThreadPools.size(threads, 0);
    java.util.List<RestModel> models = new java.util.ArrayList<>();
    double[][] ms = new double[styles.size()][rounds * iters];
    try (TFloat32 in = randomInput(hw[0], hw[1], base.inChans())) {
      for (RestConfig c : configs) {
        RestModel m = RestModel.create(c, null, precision.get());
        models.add(m);
        m.initFresh(seed);
      }
      for (int s = 0; s < models.size(); s++) {
        for (int i = 0; i < warmup; i++) {
          progress.step("warm-up " + styles.get(s).id(), i + 1, warmup);
          runOnce(models.get(s).session(), models.get(s), target(models.get(s)), in);
        }
      }
      for (int r = 0; r < rounds; r++) {
        for (int s = 0; s < models.size(); s++) {
          for (int i = 0; i < iters; i++) {
            progress.step("round " + (r + 1) + " " + styles.get(s).id(), i + 1, iters);
            long t = System.nanoTime();
            runOnce(models.get(s).session(), models.get(s), target(models.get(s)), in);
            ms[s][r * iters + i] = (System.nanoTime() - t) / 1e6;
          }
        }
      }
    } finally {
      models.forEach(RestModel::close);
    }
    out.printf("model:       %s, window sizes %s, input batch %d x %dx%d, %s threads, precision %s%n", model.describe(),
        sizes, batch, hw[0], hw[1], threads == null ? "default" : String.valueOf(threads), precision.get().id());
    out.printf("runs:        %d warm-up per style, then %d rounds x %d timed runs, styles alternated%n", warmup, rounds, iters);
    String fmt = "%-7s %10s %8s %8s %8s %8s %12s %10s %10s%n";
    out.printf(fmt, "style", "GMACs", "attn", "linear", "conv", "other", "median ms", "images/s", "GFLOP/s");
    for (int s = 0; s < styles.size(); s++) {
      io.resttf.model.Flops.Macs m = io.resttf.model.Flops.breakdown(configs.get(s), hw[0], hw[1]);
      double[] sorted = ms[s].clone();
      Arrays.sort(sorted);
      double median = Percentiles.of(sorted, 50);
      double ips = batch / (median / 1000.0);
      out.printf(java.util.Locale.ROOT, fmt, styles.get(s).id(), String.format(java.util.Locale.ROOT, "%.2f", m.total() / 1e9),
          String.format(java.util.Locale.ROOT, "%.2f", m.attention() / 1e9), String.format(java.util.Locale.ROOT, "%.2f", m.linear() / 1e9),
          String.format(java.util.Locale.ROOT, "%.2f", m.conv() / 1e9), String.format(java.util.Locale.ROOT, "%.2f", m.other() / 1e9),
          String.format(java.util.Locale.ROOT, "%.1f", median), String.format(java.util.Locale.ROOT, "%.3f", ips),
          String.format(java.util.Locale.ROOT, "%.1f", 2.0 * m.total() * ips / 1e9));
    }
    return Main.OK;
  }

  private static Operand<TFloat32> target(RestModel m) {
    return m.network().logits() != null ? m.network().logits() : m.network().pooled();
  }

  /**
   * The same weights and batch in a float32 session: max |logit difference| (and relative to the largest
   * float32 logit) and how many images keep their top-1 class.
   */
  private void compareWithFp32(PrintWriter out, RestConfig config, RestModel low, TFloat32 in) {
    float[] a = logits(low, in);
    float[] b;
    try (RestModel ref = RestModel.create(config)) {
      ref.load(low.stateDict());
      b = logits(ref, in);
    }
    int classes = config.numClasses();
    double maxErr = 0, maxAbs = 0;
    int agree = 0;
    for (int i = 0; i < batch; i++) {
      int ta = 0, tb = 0;
      for (int c = 0; c < classes; c++) {
        int k = i * classes + c;
        maxErr = Math.max(maxErr, Math.abs(a[k] - b[k]));
        maxAbs = Math.max(maxAbs, Math.abs(b[k]));
        if (a[k] > a[i * classes + ta]) ta = c;
        if (b[k] > b[i * classes + tb]) tb = c;
      }
      if (ta == tb) agree++;
    }
    out.printf(java.util.Locale.ROOT, "vs fp32:     max logit error %.3g (%.3g of the largest logit), top-1 agreement %d/%d%n",
        maxErr, maxErr / Math.max(maxAbs, 1e-30), agree, batch);
  }

  private static float[] logits(RestModel m, TFloat32 in) {
    try (Result r = m.session().runner().feed(m.network().input(), in).fetch(m.network().logits()).run()) {
      return io.resttf.tensor.TfTensors.toHost((TFloat32) r.get(0)).toFloats();
    }
  }


  private void validate() {
    if (batch < 1) throw new BadInputException("--batch must be >= 1, got " + batch);
    if (size < RestConfig.STRIDE || size % RestConfig.STRIDE != 0 || size > ResourceEstimate.MAX_SIDE) {
      throw new BadInputException("--size must be a multiple of 32 from 32 to " + ResourceEstimate.MAX_SIDE + ", got " + size);
    }
    if (iters < 1) throw new BadInputException("--iters must be >= 1, got " + iters);
    if (warmup < 0) throw new BadInputException("--warmup must be >= 0, got " + warmup);
    if (profile < 0) throw new BadInputException("--profile must be >= 0, got " + profile);
    if (threads != null && threads < 1) throw new BadInputException("--threads must be >= 1, got " + threads);
  }

  private static void runOnce(Session session, RestModel m, Operand<TFloat32> target, TFloat32 in) {
    try (Result r = session.runner().feed(m.network().input(), in).fetch(target).run()) {
      // only the run matters; closing the result frees the output tensor
    }
  }

  /** [batch, height, width, in_chans] standard-normal values, written in chunks into the native tensor. */
  private TFloat32 randomInput(int height, int width, int inChans) {
    long n = (long) batch * height * width * inChans;
    TFloat32 t = TFloat32.tensorOf(Shape.of(batch, height, width, inChans));
    try {
      FloatDataBuffer buf = t.asRawTensor().data().asFloats();
      SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
      float[] chunk = new float[(int) Math.min(n, 1 << 20)];
      for (long pos = 0; pos < n; pos += chunk.length) {
        int len = (int) Math.min(chunk.length, n - pos);
        for (int i = 0; i < len; i++) chunk[i] = (float) gaussian(rng);
        buf.offset(pos).write(chunk, 0, len);
      }
      return t;
    } catch (RuntimeException e) {
      t.close();
      throw e;
    }
  }

  private static double gaussian(SplittableRandom rng) {
    double u = 1.0 - rng.nextDouble(), v = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Progress lines on stderr ("bench: iter 5/20"), only on an interactive terminal and at most one every
   * two seconds, so short runs print none. Whole lines: the launcher passes stderr through a line filter.
   */
  private static final class Progress {
    private final PrintWriter err;
    private final boolean on;
    private long last = System.nanoTime();

    Progress(PrintWriter err, boolean on) {
      this.err = err;
      this.on = on;
    }

    void step(String what, int i, int n) {
      if (!on) return;
      long now = System.nanoTime();
      if (now - last < 2_000_000_000L) return;
      last = now;
      err.println("bench: " + what + " " + i + "/" + n);
      err.flush();
    }
  }

  private void report(PrintWriter out, RestConfig config, double buildMs, double initMs, double[] ms) {
    double[] sorted = ms.clone();
    Arrays.sort(sorted);
    double total = Arrays.stream(ms).sum();
    out.printf("model:       %s (%s), num_classes %d%n", model.describe(), config.family().id(), config.numClasses());
    out.printf("input:       batch %d, %dx%d, %d channels%n", batch, size, size, config.inChans());
    out.printf("threads:     %s%s%n", threads == null ? "default" : threads + " intra-op",
        batch == 1 && io.resttf.model.RestNetwork.blocksOnBandsAtBatch1() ? " (blocks on two bands of rows)" : "");
    out.printf("precision:   %s%n", precision.get().id());
    out.printf("graph build: %.1f ms%n", buildMs);
    out.printf("weight init: %.1f ms%n", initMs);
    out.printf("runs:        %d warm-up, %d timed%n", warmup, iters);
    out.printf("latency:     median %.2f ms, p90 %.2f ms, p99 %.2f ms, min %.2f ms, mean %.2f ms (per batch)%n",
        Percentiles.of(sorted, 50), Percentiles.of(sorted, 90), Percentiles.of(sorted, 99), sorted[0], total / ms.length);
    double imagesPerSecond = batch * ms.length / (total / 1000.0);
    out.printf("throughput:  %.2f images/s%n", imagesPerSecond);
    // arithmetic rate: 2 FLOPs per multiply-accumulate of the convolutions, linears and attention products
    out.printf(java.util.Locale.ROOT, "compute:     %.1f GFLOP/s (%.2f GMACs per image)%n",
        2 * io.resttf.model.Flops.macs(config, size, size) * imagesPerSecond / 1e9, io.resttf.model.Flops.macs(config, size, size) / 1e9);
  }
}
