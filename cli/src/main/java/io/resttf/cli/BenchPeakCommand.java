package io.resttf.cli;

import io.resttf.tensor.BadInputException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.random.RandomUniform;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TFloating;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rest-tf bench-peak}: what this machine's CPU really does in TensorFlow: the rate of one large
 * square MatMul (oneDNN's best case) in float32 and in bfloat16, the ceilings model utilisation is
 * reported against.
 */
@Command(
    name = "bench-peak",
    mixinStandardHelpOptions = true,
    description = {
      "Measures the CPU's practical peak in TensorFlow: an N x N x N MatMul in float32 and bfloat16"
          + " (inputs fed in their dtype, so no cast is timed), best and median GFLOP/s (2 FLOPs per multiply-add)."
    })
final class BenchPeakCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--size", paramLabel = "N", defaultValue = "4096", description = "matrix size (default: ${DEFAULT-VALUE})")
  int size;

  @Option(names = "--iters", paramLabel = "N", defaultValue = "5", description = "timed runs per dtype (default: ${DEFAULT-VALUE})")
  int iters;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
      description = "TensorFlow intra-op threads (default 0: one per core)")
  int threads;

  @Override
  public Integer call() {
    if (size < 64 || size > 16384) throw new BadInputException("--size must be between 64 and 16384, got " + size);
    if (iters < 1) throw new BadInputException("--iters must be >= 1, got " + iters);
    if (threads < 0) throw new BadInputException("--threads must be >= 0, got " + threads);
    PrintWriter out = spec.commandLine().getOut();
    ConfigProto config = ConfigProto.newBuilder().setIntraOpParallelismThreads(threads).setInterOpParallelismThreads(1).build();
    out.printf(Locale.ROOT, "matmul:      %d x %d x %d, %s intra-op threads%n", size, size, size, threads == 0 ? "default" : threads);
    double fp32 = measure(out, config, TFloat32.class, "float32");
    double bf16 = measure(out, config, TBfloat16.class, "bfloat16");
    out.printf(Locale.ROOT, "bf16/fp32:   %.2fx%n", bf16 / fp32);
    return Main.OK;
  }

  /** Best GFLOP/s of {@code iters} runs of a [size, size] x [size, size] MatMul in {@code type}. */
  private <T extends TFloating> double measure(PrintWriter out, ConfigProto config, Class<T> type, String name) {
    try (Graph g = new Graph(); Session s = new Session(g, config)) {
      Ops tf = Ops.create(g);
      Operand<T> randomA = tf.dtypes.cast(
          tf.random.randomUniform(tf.constant(new long[] {size, size}), TFloat32.class, RandomUniform.seed(1L)), type);
      Operand<T> randomB = tf.dtypes.cast(
          tf.random.randomUniform(tf.constant(new long[] {size, size}), TFloat32.class, RandomUniform.seed(2L)), type);
      Placeholder<T> a = tf.placeholder(type, Placeholder.shape(Shape.of(size, size)));
      Placeholder<T> b = tf.placeholder(type, Placeholder.shape(Shape.of(size, size)));
      Operand<T> product = tf.linalg.matMul(a, b);
      // the product's first element only: fetching it keeps the MatMul, without copying N² values out
      Operand<T> probe = tf.slice(product, tf.constant(new int[] {0, 0}), tf.constant(new int[] {1, 1}));
      try (Result inputs = s.runner().fetch(randomA).fetch(randomB).run()) {
        Tensor x = inputs.get(0), y = inputs.get(1);
        double[] ms = new double[iters];
        for (int i = -1; i < iters; i++) { // one untimed run first
          long t0 = System.nanoTime();
          try (Result r = s.runner().feed(a, x).feed(b, y).fetch(probe).run()) {
            // timing only
          }
          if (i >= 0) ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        double flops = 2.0 * size * size * size;
        double best = flops / (ms[0] / 1000) / 1e9, median = flops / (ms[ms.length / 2] / 1000) / 1e9;
        out.printf(Locale.ROOT, "%-12s %.1f GFLOP/s best, %.1f median (%.1f ms per MatMul)%n", name + ":", best, median, ms[0]);
        return best;
      }
    }
  }
}
