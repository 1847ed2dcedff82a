package io.resttf.cli;

import io.resttf.serving.RestClassifier;
import io.resttf.serving.RestClassifier.Batching;
import io.resttf.serving.RestClassifier.BatchingStats;
import io.resttf.serving.RestClassifier.ImageInput;
import io.resttf.tensor.BadInputException;
import io.resttf.util.ThreadPools;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code rest-tf bench-serve}: serving under concurrent load through the Java API. N client threads send
 * batch-1 classify requests for S seconds, first with dynamic batching off, then on; for reference, one
 * thread sending batches of B images (the best throughput batching can hope for).
 */
@Command(
    name = "bench-serve",
    mixinStandardHelpOptions = true,
    description = {
      "Serving under concurrent load: N client threads each send batch-1",
      "classify requests (round-robin over the images) for S seconds through",
      "RestClassifier, with dynamic batching off, then on. Prints requests,",
      "throughput and latency (p50, p90, p99, max) of each; then the throughput",
      "of one thread sending batches of R images (default B), and the ratio of",
      "the batched concurrent throughput to it."
    })
final class BenchServeCommand implements java.util.concurrent.Callable<Integer> {
  /**
   * Bounds that keep a typo from hanging the run: each client is a thread, and the warm-up classifies one
   * batch of every size up to --max-batch (a million clients or a batch of a million never finished).
   */
  static final int MAX_CLIENTS = 1024;
  static final int MAX_BATCH = 1024;

  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--clients", paramLabel = "N", defaultValue = "8", description = "client threads (default: ${DEFAULT-VALUE})")
  int clients;

  @Option(names = "--seconds", paramLabel = "S", defaultValue = "10", description = "duration of each phase (default: ${DEFAULT-VALUE})")
  double seconds;

  @Option(names = "--max-batch", paramLabel = "B", defaultValue = "8",
      description = "batching: most images per merged run; also the reference batch size (default: ${DEFAULT-VALUE})")
  int maxBatch;

  @Option(names = "--max-wait-ms", paramLabel = "W", defaultValue = "5",
      description = "batching: most milliseconds to wait for a batch to fill (default: ${DEFAULT-VALUE})")
  double maxWaitMs;

  @Option(names = "--batch-threads", paramLabel = "T", defaultValue = "1",
      description = "batching: batches run at the same time, like TF Serving's num_batch_threads (default: ${DEFAULT-VALUE})")
  int batchThreads;

  @Option(names = "--threads", paramLabel = "N",
      description = "TensorFlow intra-op threads for the process (default: TensorFlow's choice, one per core); with 1,"
          + " each op runs whole on one thread, and concurrent runs take the cores side by side")
  Integer threads;

  @Option(names = "--reference-batch", paramLabel = "R",
      description = "batch size of the one-thread reference run (default: --max-batch)")
  Integer referenceBatch;

  @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image files, sent round-robin")
  List<Path> images;

  /** One timed phase: requests (or runs), images, wall time, per-request latencies in ms (sorted). */
  record Phase(long requests, long images, double seconds, double[] latenciesMs) {
    double imagesPerSecond() {
      return images / seconds;
    }

    String latency() {
      return String.format(Locale.ROOT, "latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
          Percentiles.of(latenciesMs, 50), Percentiles.of(latenciesMs, 90),
          Percentiles.of(latenciesMs, 99), latenciesMs[latenciesMs.length - 1]);
    }
  }

  @Override
  public Integer call() throws Exception {
    if (clients < 1 || clients > MAX_CLIENTS) {
      throw new BadInputException("--clients must be between 1 and " + MAX_CLIENTS + ", got " + clients);
    }
    if (!(seconds > 0) || seconds > 86_400) throw new BadInputException("--seconds must be > 0 (at most a day), got " + seconds);
    if (maxBatch < 2 || maxBatch > MAX_BATCH) {
      throw new BadInputException("--max-batch must be between 2 and " + MAX_BATCH + ", got " + maxBatch);
    }
    if (!(maxWaitMs >= 0) || maxWaitMs > 60_000) throw new BadInputException("--max-wait-ms must be >= 0 (at most 60000), got " + maxWaitMs);
    if (batchThreads < 1 || batchThreads > Batching.MAX_BATCH_THREADS) {
      throw new BadInputException("--batch-threads must be between 1 and " + Batching.MAX_BATCH_THREADS + ", got " + batchThreads);
    }
    if (threads != null && (threads < 1 || threads > 1024)) throw new BadInputException("--threads must be between 1 and 1024, got " + threads);
    int refBatch = referenceBatch == null ? maxBatch : referenceBatch;
    if (refBatch < 1 || refBatch > MAX_BATCH) {
      throw new BadInputException("--reference-batch must be between 1 and " + MAX_BATCH + ", got " + refBatch);
    }
    PrintWriter out = spec.commandLine().getOut();
    List<ImageInput> inputs = images.stream().map(ImageInput::of).toList();
    Batching batching = new Batching(maxBatch, Duration.ofNanos(Math.round(maxWaitMs * 1e6)), clients, batchThreads);
    long nanos = Math.round(seconds * 1e9);
    if (threads != null) ThreadPools.size(threads, 0);
    out.printf(Locale.ROOT, "model: %s; %d client%s, %s s per phase, %d image%s round-robin, %s%n", model.path(), clients,
        clients == 1 ? "" : "s", fmt(seconds), inputs.size(), inputs.size() == 1 ? "" : "s",
        threads == null ? "default threads" : threads + " intra-op thread" + (threads == 1 ? "" : "s"));

    Phase off, reference;
    try (RestClassifier c = RestClassifier.open(model.path())) {
      c.classifyAll(inputs); // every image decodes (else: exit 2 naming it), and warm-up
      c.classifyAll(batchAt(inputs, 0, 1));
      c.classifyAll(batchAt(inputs, 0, refBatch));
      off = clients(c, inputs, nanos);
      out.printf(Locale.ROOT, "batching off: %d requests in %.1f s, %.2f images/s; %s%n",
          off.requests(), off.seconds(), off.imagesPerSecond(), off.latency());
      out.flush();
      reference = oneThreadBatches(c, inputs, refBatch, nanos);
    }

    Phase on;
    BatchingStats stats;
    try (RestClassifier c = RestClassifier.open(model.path(), batching)) {
      // warm-up: one run of each batch size merging can produce (a call of k images is a batch of k)
      for (int k = 1; k <= maxBatch; k++) c.classifyAll(batchAt(inputs, 0, k));
      BatchingStats before = c.batchingStats();
      on = clients(c, inputs, nanos);
      BatchingStats after = c.batchingStats();
      long runs = after.batches() - before.batches(), items = after.items() - before.items();
      out.printf(Locale.ROOT, "batching on (max batch %d, max wait %s ms, %d batch thread%s): %d requests in %.1f s, %.2f images/s; %s; "
          + "%d session runs, mean batch %.2f, at most %d at once%n", maxBatch, fmt(maxWaitMs), batchThreads,
          batchThreads == 1 ? "" : "s", on.requests(), on.seconds(), on.imagesPerSecond(),
          on.latency(), runs, runs == 0 ? 0.0 : (double) items / runs, after.mostConcurrentBatches());
    }
    out.printf(Locale.ROOT, "batch-%d throughput (1 thread, batches of %d): %d runs in %.1f s, %.2f images/s; %s per batch%n",
        refBatch, refBatch, reference.requests(), reference.seconds(), reference.imagesPerSecond(), reference.latency());
    out.printf(Locale.ROOT, "batching on / batch-%d throughput: %.2f; batching on / off: %.2f%n", refBatch,
        on.imagesPerSecond() / reference.imagesPerSecond(), on.imagesPerSecond() / off.imagesPerSecond());
    return Main.OK;
  }

  /** {@code size} images from position {@code start} of the round-robin. */
  static List<ImageInput> batchAt(List<ImageInput> images, long start, int size) {
    List<ImageInput> b = new ArrayList<>(size);
    for (int j = 0; j < size; j++) b.add(images.get((int) ((start + j) % images.size())));
    return b;
  }

  /** {@code clients} threads, each sending one image per call (round-robin from its own offset) until the time is up. */
  private Phase clients(RestClassifier c, List<ImageInput> inputs, long nanos) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients, r -> {
      Thread t = new Thread(r, "bench-serve client");
      t.setDaemon(true);
      return t;
    });
    AtomicBoolean failed = new AtomicBoolean();
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<double[]>> futures = new ArrayList<>();
      for (int t = 0; t < clients; t++) {
        int id = t;
        futures.add(pool.submit(() -> {
          start.await();
          long deadline = System.nanoTime() + nanos;
          double[] ms = new double[256];
          int n = 0;
          long next = id;
          try {
            do {
              List<ImageInput> one = batchAt(inputs, next++, 1);
              long t0 = System.nanoTime();
              c.classifyAll(one);
              if (n == ms.length) ms = Arrays.copyOf(ms, n * 2);
              ms[n++] = (System.nanoTime() - t0) / 1e6;
            } while (System.nanoTime() < deadline && !failed.get());
          } catch (RuntimeException e) {
            failed.set(true);
            throw e;
          }
          return Arrays.copyOf(ms, n);
        }));
      }
      long t0 = System.nanoTime();
      start.countDown();
      List<double[]> all = new ArrayList<>();
      for (Future<double[]> f : futures) all.add(unwrap(f));
      double secs = (System.nanoTime() - t0) / 1e9;
      double[] lat = all.stream().flatMapToDouble(Arrays::stream).sorted().toArray();
      return new Phase(lat.length, lat.length, secs, lat);
    } finally {
      pool.shutdownNow();
    }
  }

  /** One thread sending batches of {@code size} images (round-robin) until the time is up. */
  private Phase oneThreadBatches(RestClassifier c, List<ImageInput> inputs, int size, long nanos) {
    double[] ms = new double[64];
    int n = 0;
    long t0 = System.nanoTime(), deadline = t0 + nanos;
    do {
      List<ImageInput> batch = batchAt(inputs, (long) n * size, size);
      long s = System.nanoTime();
      c.classifyAll(batch);
      if (n == ms.length) ms = Arrays.copyOf(ms, n * 2);
      ms[n++] = (System.nanoTime() - s) / 1e6;
    } while (System.nanoTime() < deadline);
    double secs = (System.nanoTime() - t0) / 1e9;
    double[] lat = Arrays.copyOf(ms, n);
    Arrays.sort(lat);
    return new Phase(n, (long) n * size, secs, lat);
  }

  private static double[] unwrap(Future<double[]> f) throws Exception {
    try {
      return f.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception x) throw x;
      if (e.getCause() instanceof Error err) throw err;
      throw e;
    }
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%s", v);
  }
}
