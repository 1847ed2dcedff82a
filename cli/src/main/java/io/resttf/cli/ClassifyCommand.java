package io.resttf.cli;

import io.resttf.serving.RestClassifier;
import io.resttf.tensor.BadInputException;
import io.resttf.training.DataSpec;
import io.resttf.training.tfrecord.ImageExample;
import io.resttf.training.tfrecord.TfRecordDataset;
import io.resttf.training.tfrecord.TfRecords;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rest-tf classify}: images through a SavedModel's classify_images signature. */
@Command(
    name = "classify",
    mixinStandardHelpOptions = true,
    description = {
      "Classifies JPEG / PNG images with an exported SavedModel (its own in-graph preprocessing): one line per",
      "image with the best labels and probabilities. A corrupt image gets an error line; the others still run",
      "(exit code 2 when any image failed)."
    })
final class ClassifyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--top-k", paramLabel = "K", defaultValue = "5", description = "labels per image (default ${DEFAULT-VALUE})")
  int topK;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "images per call (default ${DEFAULT-VALUE})")
  int batch;

  @Parameters(arity = "0..*", paramLabel = "IMAGE", description = "image files")
  List<Path> images = List.of();

  @Option(names = "--batch-from", paramLabel = "SOURCE", description = {
      "classify records instead of files: tfrecord:PATTERN (TFRecord shards of tf.Example, a file or a glob",
      "such as records/val-*.tfrecord), streamed in order; each record's image/encoded, named by its",
      "image/filename or FILE:INDEX; with labels, the top-1 agreement is reported at the end"})
  String batchFrom;

  @Option(names = "--parallel", paramLabel = "P", description = {
      "batches classified at once (1-" + MAX_PARALLEL + "; default: one per core when there is more than one",
      "batch, else 1). With more than one, TensorFlow runs each op on one thread (unless TF_NUM_INTRAOP_THREADS",
      "is set) and the batches take a core each; lines still come in input order"})
  Integer parallel;

  static final int MAX_PARALLEL = 64;

  @Mixin PrecisionOption precision;

  @Mixin MaxPixelsOption maxPixels;

  @Override
  public Integer call() {
    if (topK < 1) throw new BadInputException("--top-k must be at least 1, got " + topK);
    if (batch < 1) throw new BadInputException("--batch must be at least 1, got " + batch);
    if (batchFrom != null && !images.isEmpty()) {
      throw new BadInputException("give image files or --batch-from, not both");
    }
    if (batchFrom == null && images.isEmpty()) throw new BadInputException("no images: give image files or --batch-from tfrecord:PATTERN");
    List<Path> shards = batchFrom == null ? null : shards(batchFrom);
    if (parallel != null && (parallel < 1 || parallel > MAX_PARALLEL)) {
      throw new BadInputException("--parallel must be 1 to " + MAX_PARALLEL + ", got " + parallel);
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    // records are streamed: their count is not known ahead, so as if there were many batches
    int batches = shards != null ? Integer.MAX_VALUE : (images.size() + batch - 1) / batch;
    int inFlight = parallel != null ? parallel
        : Math.min(batches, Math.max(1, Runtime.getRuntime().availableProcessors()));
    if (inFlight > 1 && System.getenv("TF_NUM_INTRAOP_THREADS") == null) {
      // before the first session: each op whole on the inter-op thread that runs it (README, "classify")
      io.resttf.util.ThreadPools.size(1, 0);
    }
    try (RestClassifier c = RestClassifier.open(model.path(), null, precision.get())) {
      if (maxPixels.given()) c.maxPixels(maxPixels.orElse(c.maxPixels()));
      if (shards != null) return classifyRecords(c, shards, inFlight, out, err);
      int k = Math.min(topK, c.labels().size());
      int[] failed = {0};
      try (InOrderBatches<Batch> inOrder = new InOrderBatches<>(inFlight, b -> failed[0] += print(c, b, k, out, err))) {
        for (int from = 0; from < images.size(); from += batch) {
          List<Path> files = images.subList(from, Math.min(images.size(), from + batch));
          inOrder.submit(() -> classifyFiles(c, files));
        }
        inOrder.finish();
      }
      return failed[0] == 0 ? Main.OK : Main.BAD_INPUT;
    }
  }

  /** One batch of files: the unreadable ones' errors and the others' results, in input order. */
  private record Batch(List<String> unreadable, List<RestClassifier.ImageResult> results) {}

  private static Batch classifyFiles(RestClassifier c, List<Path> files) {
    List<RestClassifier.ImageInput> inputs = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    for (Path p : files) {
      try {
        inputs.add(RestClassifier.ImageInput.of(p));
      } catch (BadInputException e) {
        unreadable.add(e.getMessage());
      }
    }
    return new Batch(unreadable, c.classifyEach(inputs));
  }

  /** A batch of records' results and their image/class/label (−1: none), in record order. */
  private record RecordBatch(List<RestClassifier.ImageResult> results, List<Long> labels) {}

  /** Prints a batch's lines; returns how many of its images failed. */
  private static int print(RestClassifier c, Batch b, int k, PrintWriter out, PrintWriter err) {
    int failed = 0;
    for (String u : b.unreadable()) {
      err.println("rest-tf: " + u);
      failed++;
    }
    for (RestClassifier.ImageResult r : b.results()) {
      if (print(c, r, k, out, err) == null) failed++;
    }
    return failed;
  }

  /**
   * One result: the line "IMAGE:  LABEL PROB ..." on out, or the error on err. Returns the top {@code k}
   * predictions, null for a failed image.
   */
  private static List<RestClassifier.Prediction> print(RestClassifier c, RestClassifier.ImageResult r, int k, PrintWriter out,
      PrintWriter err) {
    if (!r.ok()) {
      err.println("rest-tf: " + r.image() + ": " + r.error());
      return null;
    }
    List<RestClassifier.Prediction> top = c.top(r.classification().probabilities(), k);
    StringBuilder line = new StringBuilder(r.image()).append(':');
    for (RestClassifier.Prediction p : top) line.append(String.format(Locale.ROOT, "  %s %.4f", p.label(), p.probability()));
    out.println(line);
    return top;
  }

  private static List<Path> shards(String source) {
    String prefix = DataSpec.TFRECORD_PREFIX;
    if (!source.startsWith(prefix) || source.length() == prefix.length()) {
      throw new BadInputException("--batch-from: expected tfrecord:PATTERN (e.g. tfrecord:records/val-*.tfrecord), got \"" + source + "\"");
    }
    return TfRecordDataset.match(source.substring(prefix.length()));
  }

  /** Streams the shards' records in order, --batch at a time, {@code inFlight} batches at once; one line per record as for files. */
  private int classifyRecords(RestClassifier c, List<Path> shards, int inFlight, PrintWriter out, PrintWriter err) {
    int k = Math.min(topK, c.labels().size());
    long[] counts = new long[4]; // seen, labelled, agree, failed
    java.util.function.Consumer<RecordBatch> sink = b -> {
      for (int i = 0; i < b.results().size(); i++) {
        counts[0]++;
        List<RestClassifier.Prediction> top = print(c, b.results().get(i), k, out, err);
        if (top == null) {
          counts[3]++;
        } else if (b.labels().get(i) >= 0) {
          counts[1]++;
          if (top.get(0).index() == b.labels().get(i)) counts[2]++;
        }
      }
    };
    try (InOrderBatches<RecordBatch> batches = new InOrderBatches<>(inFlight, sink)) {
      try {
        readRecords(c, shards, batches);
      } catch (BadInputException e) {
        // a bad record ends the run; the batches before it still get their lines, as one at a time did
        batches.finish();
        throw e;
      }
      batches.finish();
    }
    long seen = counts[0], labelled = counts[1], agree = counts[2], failed = counts[3];
    if (labelled > 0) {
      err.printf(Locale.ROOT, "%d records; top-1 equals image/class/label for %d of %d labelled (%.2f %%)%n", seen, agree,
          labelled, 100.0 * agree / labelled);
    }
    return failed == 0 ? Main.OK : Main.BAD_INPUT;
  }

  /** Reads the shards' records in order and submits them --batch at a time. */
  private void readRecords(RestClassifier c, List<Path> shards, InOrderBatches<RecordBatch> batches) {
    List<RestClassifier.ImageInput> inputs = new ArrayList<>();
    List<Long> labels = new ArrayList<>();
    for (Path shard : shards) {
      try (TfRecords.Reader r = new TfRecords.Reader(shard)) {
        while (true) {
          boolean more = r.hasNext(); // reads (and checks) the next record's framing
          if (more) {
            long index = r.index();
            String where = shard + ": record " + index;
            ImageExample e = ImageExample.parse(r.next(), where);
            inputs.add(new RestClassifier.ImageInput(e.filename() != null ? e.filename() : shard.getFileName() + ":" + index, e.encoded()));
            labels.add(e.label());
          }
          if (inputs.size() == batch || (!more && !inputs.isEmpty())) {
            List<RestClassifier.ImageInput> in = List.copyOf(inputs);
            List<Long> lab = List.copyOf(labels);
            batches.submit(() -> new RecordBatch(c.classifyEach(in), lab));
            inputs.clear();
            labels.clear();
          }
          if (!more) break;
        }
      } catch (java.io.IOException e) {
        throw new BadInputException(shard + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")");
      }
    }
  }
}
