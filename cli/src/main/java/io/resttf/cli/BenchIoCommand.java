package io.resttf.cli;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.torch.TorchCheckpointWriter;
import io.resttf.model.ParamSpec;
import io.resttf.model.Params;
import io.resttf.model.ModelLocation;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.RestNetwork;
import io.resttf.model.Variants;
import io.resttf.model.WeightMapping;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rest-tf bench-io}: how long reading a checkpoint and mapping it to the TF layouts takes, next to
 * merely reading the file's bytes, and how much heap it needs.
 */
@Command(
    name = "bench-io",
    mixinStandardHelpOptions = true,
    description = {
      "Measures checkpoint reading: (1) merely reading the file's bytes, into a reused direct buffer (1a) and with"
          + " Files.readAllBytes (1b), (2) CheckpointFiles.read (parse the pickle, materialise the state_dict),"
          + " (3) WeightMapping.toTf of every tensor (the TF layouts; each result is dropped after use, as the"
          + " model's loader hands each tensor to TF); best and median of N repeats after a warm-up, and the"
          + " peak heap during (2)+(3). A System.gc() runs before each step.",
      "Without --file it writes random weights of the variant (default restv2_large) as a torch.save file in the"
          + " temporary directory, deleted at the end. The file is in the OS page cache (just written, or read by"
          + " the warm-up): every timing is cache-warm."
    })
final class BenchIoCommand implements Callable<Integer> {
  static final String DEFAULT_VARIANT = "restv2_large";
  private static final int RAW_BUFFER = 8 << 20;

  @Spec CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  ModelOptions model;

  @Option(names = "--file", paramLabel = "FILE",
      description = "an existing checkpoint (.pth or .safetensors) instead of a synthetic one; its model is detected"
          + " from the shapes unless --variant or --config is given")
  Path file;

  @Option(names = "--repeats", paramLabel = "N", defaultValue = "3", description = "timed repeats (default: ${DEFAULT-VALUE})")
  int repeats;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "1",
      description = "untimed rounds first, for the JIT (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "seed of the synthetic weights (default: ${DEFAULT-VALUE})")
  long seed;

  @Override
  public Integer call() throws IOException {
    if (repeats < 1) throw new BadInputException("--repeats must be >= 1, got " + repeats);
    if (warmup < 0) throw new BadInputException("--warmup must be >= 0, got " + warmup);
    if (file != null) ModelLocation.require(file, ModelLocation.Kind.CHECKPOINT_FILE);
    PrintWriter out = spec.commandLine().getOut();
    RestConfig config = model != null ? model.resolve() : file == null ? Variants.get(DEFAULT_VARIANT) : null;
    String modelName = model != null ? model.describe() : file == null ? "variant " + DEFAULT_VARIANT : null;
    Path path = file;
    Path temp = null;
    try {
      String source;
      if (file == null) {
        temp = Files.createTempFile("rest-tf-bench-io-", ".pth");
        temp.toFile().deleteOnExit();
        long t0 = System.nanoTime();
        Synthetic s = synthesize(config, temp, seed);
        source = String.format(Locale.ROOT, "synthetic torch.save file, %d tensors, %.1f M parameters, written in %.0f ms",
            s.tensors, s.parameters / 1e6, (System.nanoTime() - t0) / 1e6);
        path = temp;
      } else {
        source = "given file";
      }
      if (config == null) { // --file without a model: detect it from the shapes
        ConfigDetector.Detection d = ConfigDetector.detect(CheckpointFiles.read(path, false, null).stateDict());
        config = d.config();
        modelName = "detected " + d.describe();
      }
      run(out, path, source, config, modelName);
    } finally {
      if (temp != null) Files.deleteIfExists(temp);
    }
    return Main.OK;
  }

  /** What {@link #synthesize} wrote: state_dict entries, and trainable parameters as the official code counts them. */
  record Synthetic(int tensors, long parameters) {}

  /**
   * Writes random weights of {@code config} in the official keys, order, shapes and dtypes (BatchNorm
   * {@code num_batches_tracked} int64 scalars included) to {@code target}.
   */
  static Synthetic synthesize(RestConfig config, Path target, long seed) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    long parameters;
    try (RestModel m = RestModel.create(config)) {
      for (Params.Param p : m.network().params().all().values()) {
        shapes.put(p.key(), p.officialShape());
      }
      parameters = m.network().params().numParameters();
    }
    SplittableRandom rng = new SplittableRandom(seed);
    LinkedHashMap<String, HostTensor> sd = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      String key = e.getKey();
      float[] v = new float[Math.toIntExact(HostTensor.numElements(e.getValue()))];
      for (int i = 0; i < v.length; i++) v[i] = (rng.nextInt() >> 8) * 0x1p-28f; // uniform in [-1/32, 1/32)
      sd.put(key, HostTensor.ofFloats(e.getValue(), v));
      if (key.endsWith(".running_var")) {
        String bn = key.substring(0, key.length() - ".running_var".length());
        sd.put(bn + ".num_batches_tracked", HostTensor.ofLongs("I64", new long[0], new long[] {1000}));
      }
    }
    TorchCheckpointWriter.write(target, sd);
    return new Synthetic(sd.size(), parameters);
  }

  /** One round's timings (ns) and peak heap (bytes). */
  private record Round(long raw, long readAll, long read, long map, long peakHeap, long heapBefore, long retained) {}

  private void run(PrintWriter out, Path path, String source, RestConfig config, String modelName) throws IOException {
    long size = Files.size(path);
    ByteBuffer buf = ByteBuffer.allocateDirect(RAW_BUFFER);
    List<MemoryPoolMXBean> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
        .filter(p -> p.getType() == MemoryType.HEAP && p.isValid()).toList();
    Map<String, ParamSpec> specs = RestNetwork.parameters(config); // the declarations the loader maps by, once
    for (int i = 0; i < warmup; i++) {
      round(path, specs, buf, heapPools, size);
    }
    List<Round> rounds = new ArrayList<>();
    for (int i = 0; i < repeats; i++) {
      rounds.add(round(path, specs, buf, heapPools, size));
    }
    long[] raw = rounds.stream().mapToLong(Round::raw).sorted().toArray();
    long[] readAll = rounds.stream().mapToLong(Round::readAll).sorted().toArray();
    long[] read = rounds.stream().mapToLong(Round::read).sorted().toArray();
    long[] map = rounds.stream().mapToLong(Round::map).sorted().toArray();
    long[] total = rounds.stream().mapToLong(r -> r.read + r.map).sorted().toArray();
    long peak = rounds.stream().mapToLong(Round::peakHeap).max().orElse(0);
    long before = rounds.stream().mapToLong(Round::heapBefore).max().orElse(0);
    long retained = rounds.stream().mapToLong(Round::retained).max().orElse(0);
    long maxHeap = Runtime.getRuntime().maxMemory();

    out.printf(Locale.ROOT, "file:    %s (%.1f MB), %s%n", path, size / 1e6, source);
    out.printf(Locale.ROOT, "model:   %s (%s), mapping with its config%n", modelName, config.family().id());
    out.printf(Locale.ROOT, "runs:    %d warm-up, %d timed; the file is in the OS page cache (nothing is dropped"
        + " from it), so raw read and read+map are both cache-warm%n", warmup, repeats);
    out.printf(Locale.ROOT, "heap:    max %.0f MB (-Xmx), %d CPUs%n", maxHeap / 1e6, Runtime.getRuntime().availableProcessors());
    out.println();
    out.printf(Locale.ROOT, "%-34s %10s %10s %10s%n", "step", "best ms", "median ms", "MB/s");
    row(out, "(1a) raw read (FileChannel)", raw, size);
    row(out, "(1b) raw read (Files.readAllBytes)", readAll, size);
    row(out, "(2) CheckpointFiles.read", read, size);
    row(out, "(3) WeightMapping.toTf", map, size);
    row(out, "(2)+(3) read + map", total, size);
    out.println();
    out.printf(Locale.ROOT, "peak heap during (2)+(3): %.1f MB (sum of the heap pools' peaks, garbage not yet collected"
        + " included; %.1f MB in use before)%n", peak / 1e6, before / 1e6);
    out.printf(Locale.ROOT, "state_dict alone, after a GC: %.1f MB in use (%.2fx file size)%n", retained / 1e6,
        (double) retained / size);
    out.printf(Locale.ROOT, "read+map / raw read: %.1fx (vs Files.readAllBytes: %.1fx), peak heap: %.1fx file size%n",
        (double) total[0] / raw[0], (double) total[0] / readAll[0], (double) peak / size);
  }

  private static void row(PrintWriter out, String what, long[] sortedNs, long bytes) {
    out.printf(Locale.ROOT, "%-34s %10.1f %10.1f %10.0f%n", what, sortedNs[0] / 1e6, median(sortedNs) / 1e6,
        bytes / 1e6 / (sortedNs[0] / 1e9));
  }

  /** The lower median of sorted values. */
  static long median(long[] sorted) {
    return sorted[(sorted.length - 1) / 2];
  }

  private static Round round(Path path, Map<String, ParamSpec> specs, ByteBuffer buf, List<MemoryPoolMXBean> pools, long size)
      throws IOException {
    System.gc();
    long t0 = System.nanoTime();
    long n = rawRead(path, buf);
    long raw = System.nanoTime() - t0;
    if (n != size) throw new IllegalStateException(path + " changed while it was read (" + n + " of " + size + " bytes)");

    System.gc();
    t0 = System.nanoTime();
    n = Files.readAllBytes(path).length;
    long readAll = System.nanoTime() - t0;
    if (n != size) throw new IllegalStateException(path + " changed while it was read (" + n + " of " + size + " bytes)");

    System.gc();
    long heapBefore = 0;
    for (MemoryPoolMXBean p : pools) {
      heapBefore += p.getUsage().getUsed();
      p.resetPeakUsage();
    }
    t0 = System.nanoTime();
    Map<String, HostTensor> sd = CheckpointFiles.read(path, false, null).stateDict();
    long t1 = System.nanoTime();
    long mapped = mapAll(sd, specs, path);
    long t2 = System.nanoTime();
    long peak = 0;
    for (MemoryPoolMXBean p : pools) peak += p.getPeakUsage().getUsed();
    if (mapped == 0 && !sd.isEmpty()) throw new IllegalStateException("nothing mapped");
    System.gc();
    long retained = 0;
    for (MemoryPoolMXBean p : pools) retained += p.getUsage().getUsed();
    Reference.reachabilityFence(sd);
    return new Round(raw, readAll, t1 - t0, t2 - t1, peak, heapBefore, retained);
  }

  /** Reads the whole file into a reused direct buffer; returns the byte count. */
  static long rawRead(Path path, ByteBuffer buf) throws IOException {
    long total = 0;
    try (FileChannel ch = FileChannel.open(path)) {
      while (true) {
        buf.clear();
        int r = ch.read(buf);
        if (r < 0) return total;
        total += r;
      }
    }
  }

  /**
   * Maps every tensor to its TF layout as the model's weight loader does (num_batches_tracked has no variable),
   * dropping each result after touching it, as the loader hands each one to TF (native memory) at once.
   * Returns the number of elements mapped.
   */
  static long mapAll(Map<String, HostTensor> sd, Map<String, ParamSpec> specs, Path path) {
    long elements = 0;
    for (Map.Entry<String, HostTensor> e : sd.entrySet()) {
      String key = e.getKey();
      if (WeightMapping.tfName(key).isEmpty()) continue;
      try {
        ParamSpec spec = specs.get(key);
        if (spec == null) throw new IllegalArgumentException("the model has no such parameter");
        float[] tf = WeightMapping.toTf(spec, e.getValue()).toFloats();
        elements += tf.length;
      } catch (IllegalArgumentException | IllegalStateException | ArrayIndexOutOfBoundsException ex) {
        throw new BadInputException(path + ": tensor '" + key + "' " + e.getValue().shapeString()
            + " does not fit the model (" + ex.getMessage() + "); pass the right --variant or --config");
      }
    }
    return elements;
  }
}
