package io.resttf.serving;

import io.resttf.model.ModelLocation;
import io.resttf.model.Preprocessing;
import static io.resttf.serving.ServingSignatures.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.model.Precision;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import io.resttf.util.ImageHeader;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TFInvalidArgumentException;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;

/**
 * Inference on an exported SavedModel (see {@link SavedModelExporter}): classify encoded images
 * (files, bytes, or {@link BufferedImage}s, which are sent as PNG) through the graph's own
 * preprocessing, run normalised NHWC batches, or get the stage feature maps.
 *
 * <p>Thread-safe: every call is one call of a signature function ({@link SessionFunction#call}: one session run) on the loaded session, which TF allows from
 * many threads. {@link #close()} frees the native graph and session; it may be called while other
 * threads are mid-call (it waits for the session runs in progress; later calls fail with an
 * {@link IllegalStateException} "classifier is closed").
 *
 * <p><b>Dynamic batching</b> ({@link #open(Path, Batching)}, off by default), as TF Serving's batching
 * options: concurrent small calls of {@link #predict} (same height and width) and of the {@code classify}
 * methods (any images) are queued, and a batcher thread runs up to {@link Batching#maxBatchSize()}
 * images of them as one session run, waiting at most {@link Batching#maxWait()} after the first one
 * arrived, then hands each caller its rows. {@link Batching#batchThreads()} batcher threads (default one)
 * run that many batches at the same time. Callers see the same API and the same errors: if a merged
 * run fails (e.g. one caller sent a corrupt image), the calls are run again one by one, so each caller
 * gets its own result or error. A full queue fails the call at once ({@link QueueFullException}).
 *
 * <p>Numerics under batching: answers are <em>not</em> always bit-identical to unbatched calls. A row's
 * answer depends on the size of the batch it ran in (oneDNN picks its kernels by shape), not on its
 * position or its companions, so a merged call's answer equals, bit for bit, the answer for the same
 * input in an unbatched call of the merged size, and differs from the batch-1 answer in the last bits:
 * measured on the restv2_tiny test model, every row of batches of 2 to 8 differs from batch 1, by at
 * most 2.2e-7 of the output's largest magnitude (a few float32 ulps; logits and probabilities); the
 * tests allow 1e-6. Top-k ranks can only swap between classes that close. A call that runs alone (no
 * concurrent calls within {@code maxWait}), and every call re-run after a failed merged run, is a batch
 * of its own and bit-identical to the unbatched call.
 */
public final class RestClassifier implements AutoCloseable {

  /** One encoded image and the name errors use for it (a path, "image 3", ...). */
  public record ImageInput(String name, byte[] bytes) {
    public ImageInput {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(bytes, "bytes");
    }

    /** Reads the file (its path names it). */
    public static ImageInput of(Path file) {
      try {
        return new ImageInput(file.toString(), Files.readAllBytes(file));
      } catch (NoSuchFileException e) {
        throw new BadInputException(file + ": no such file");
      } catch (IOException e) {
        throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")");
      }
    }

    public static ImageInput of(String name, byte[] encoded) {
      return new ImageInput(name, encoded);
    }

    /** Encodes the image as PNG (lossless), so the graph's preprocessing sees exactly its pixels. */
    public static ImageInput of(String name, BufferedImage image) {
      return new ImageInput(name, toPng(image));
    }
  }

  /** One class of a top-k answer. */
  public record Prediction(int index, String label, float probability) {}

  /** The answer for one image: the top-k classes (most probable first) and every class's probability. */
  public record Classification(String image, List<Prediction> top, float[] probabilities) {
    public Prediction best() {
      return top.get(0);
    }
  }

  /** Per-image outcome of {@link #classifyEach}: a classification or an error message. */
  public record ImageResult(String image, Classification classification, String error) {
    public boolean ok() {
      return error == null;
    }
  }

  /** {@code serving_default} outputs for a batch: logits and softmax probabilities, [B, num_classes]. */
  public record Outputs(HostTensor logits, HostTensor probabilities) {}

  /**
   * Dynamic batching options (see the class comment).
   *
   * @param maxBatchSize most images (rows) per merged session run, at least 2; a call with this many
   *     images or more is not queued but run at once on its own
   * @param maxWait how long the batcher waits, after the first queued call arrived, for more calls to
   *     fill the batch (zero: run whatever is queued at once)
   * @param maxQueue most calls waiting in the queue; one more fails at once with {@link QueueFullException}
   * @param batchThreads batches run at the same time (TF Serving's {@code num_batch_threads}), each by its own
   *     batcher thread as one session run; more than one lets small batches use cores a lone run leaves idle
   */
  public record Batching(int maxBatchSize, Duration maxWait, int maxQueue, int batchThreads) {
    /** The queue bound {@link #of(int, Duration)} uses. */
    public static final int DEFAULT_MAX_QUEUE = 256;
    /** The most batcher threads one classifier takes. */
    public static final int MAX_BATCH_THREADS = 64;

    public Batching {
      Objects.requireNonNull(maxWait, "maxWait");
      if (maxBatchSize < 2) throw new BadInputException("batching: the maximum batch size must be at least 2 (got " + maxBatchSize + ")");
      if (maxWait.isNegative()) throw new BadInputException("batching: the maximum wait must not be negative (got " + maxWait + ")");
      if (maxQueue < 1) throw new BadInputException("batching: the queue must hold at least 1 call (got " + maxQueue + ")");
      if (batchThreads < 1 || batchThreads > MAX_BATCH_THREADS) {
        throw new BadInputException("batching: batch threads must be from 1 to " + MAX_BATCH_THREADS + " (got " + batchThreads + ")");
      }
    }

    /** One batch at a time. */
    public Batching(int maxBatchSize, Duration maxWait, int maxQueue) {
      this(maxBatchSize, maxWait, maxQueue, 1);
    }

    /** The same options with {@code n} batches run at the same time. */
    public Batching withBatchThreads(int n) {
      return new Batching(maxBatchSize, maxWait, maxQueue, n);
    }

    /** Batching with a queue of {@value #DEFAULT_MAX_QUEUE} calls. */
    public static Batching of(int maxBatchSize, Duration maxWait) {
      return new Batching(maxBatchSize, maxWait, DEFAULT_MAX_QUEUE);
    }

    long maxWaitNanos() {
      try {
        return maxWait.toNanos();
      } catch (ArithmeticException e) {
        return Long.MAX_VALUE;
      }
    }
  }

  /**
   * What the batcher has done since the classifier was opened (all zero when batching is off).
   *
   * @param calls calls served through the queue
   * @param items images (rows) of those calls
   * @param batches merged session runs, one per batch taken from the queue ({@code batches < calls}
   *     means calls were merged)
   * @param fallbacks merged runs that failed and were run again call by call
   * @param rejected calls refused because the queue was full
   * @param largestBatch the most images one merged run held
   * @param waiting calls in the queue now
   * @param mostConcurrentBatches the most batches that were being run at the same time (at most
   *     {@link Batching#batchThreads()})
   */
  public record BatchingStats(long calls, long items, long batches, long fallbacks, long rejected, int largestBatch, int waiting,
      int mostConcurrentBatches) {
    /** Images per merged run (0 before the first). */
    public double meanBatchSize() {
      return batches == 0 ? 0 : (double) items / batches;
    }
  }

  /** A call refused because the batching queue is full; the message says how many calls wait. */
  public static final class QueueFullException extends RejectedExecutionException {
    QueueFullException(String message) {
      super(message);
    }
  }

  private final Path directory;
  private final SavedModelBundle bundle;
  private final JsonNode metadata;
  private final RestConfig config;
  private final Preprocessing preprocessing;
  private final List<String> labels;
  /** The export's signatures, called as functions (one session run per call; the session is shared). */
  private final Map<String, SessionFunction> functions;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Session runs hold the read lock; close() takes the write lock before it frees the session. */
  private final ReentrantReadWriteLock runs = new ReentrantReadWriteLock();
  /** Null when batching is off. */
  private final Batcher batcher;
  /** Images whose header declares more pixels are refused before they reach the graph (see {@link #maxPixels(long)}). */
  private volatile long maxPixels;

  private RestClassifier(Path directory, SavedModelBundle bundle, JsonNode metadata, Batching batching) {
    this.directory = directory;
    this.bundle = bundle;
    this.metadata = metadata;
    String src = directory.resolve("assets").resolve(SavedModelExporter.METADATA_ASSET).toString();
    this.config = RestConfig.fromJson(metadata.path("config").toString(), src);
    this.preprocessing = Preprocessing.fromJson(metadata.get("preprocessing"), src);
    List<String> l = new ArrayList<>();
    metadata.path("labels").forEach(x -> l.add(x.asText()));
    this.labels = List.copyOf(l);
    Map<String, SessionFunction> fns = new java.util.HashMap<>();
    bundle.functions().forEach(f -> fns.put(f.signature().key(), f));
    this.functions = Map.copyOf(fns);
    this.batcher = batching == null ? null : new Batcher(batching);
    this.maxPixels = metadata.path("max_pixels").canConvertToLong() ? metadata.path("max_pixels").asLong() : ImageHeader.DEFAULT_MAX_PIXELS;
  }

  /**
   * Sets the largest image (width × height, read from its header before decoding) that the image entry
   * points accept; larger ones fail on their own account ("W×H = 400 MP exceeds the limit of 40 MP").
   * The default is the export's {@code max_pixels} (40 MP). The export's graph enforces its own limit
   * too, so a value above it cannot let larger images through. Returns this classifier.
   */
  public RestClassifier maxPixels(long limit) {
    this.maxPixels = ImageHeader.requireValidLimit(limit);
    return this;
  }

  /** The current image size limit in pixels. */
  public long maxPixels() {
    return maxPixels;
  }

  /**
   * Opens an export: a version directory (holding saved_model.pb) or a model directory (its highest
   * complete version).
   */
  public static RestClassifier open(Path dir) {
    return open(dir, null);
  }

  /**
   * Opens an export (as {@link #open(Path)}) with dynamic batching of concurrent calls; {@code batching}
   * null means off. The batcher threads are daemon threads, stopped by {@link #close()}.
   */
  public static RestClassifier open(Path dir, Batching batching) {
    return open(dir, batching, Precision.FP32);
  }

  /**
   * Opens an export (as {@link #open(Path, Batching)}) whose session computes in {@code precision}:
   * {@link Precision#BF16} runs oneDNN's bfloat16 auto-mixed-precision rewriter over the loaded graph
   * (inputs, outputs and variables stay float32; the export itself is unchanged).
   */
  public static RestClassifier open(Path dir, Batching batching, Precision precision) {
    Path versionDir = ModelLocation.savedModel(dir);
    JsonNode metadata = SavedModelExporter.readMetadata(versionDir);
    String task = metadata.path("task").asText(SavedModelExporter.TASK_CLASSIFICATION);
    if (!task.equals(SavedModelExporter.TASK_CLASSIFICATION)) {
      throw new BadInputException(versionDir + ": a " + task + " export, not a classifier (its signatures: "
          + String.join(", ", (Iterable<String>) () -> metadata.path("signatures").fieldNames()) + ")");
    }
    SavedModelBundle bundle = SavedModelIntegrity.load(versionDir, () -> precision == Precision.FP32
        ? SavedModelBundle.load(versionDir.toString(), TAG)
        : SavedModelBundle.loader(versionDir.toString()).withTags(TAG)
            .withConfigProto(precision.sessionConfig(null)).load());
    try {
      return new RestClassifier(versionDir, bundle, metadata, batching);
    } catch (RuntimeException e) {
      bundle.close();
      throw e;
    }
  }

  public Path directory() {
    return directory;
  }

  /** The export's metadata (assets/rest_tf.json). */
  public JsonNode metadata() {
    return metadata.deepCopy();
  }

  public RestConfig config() {
    return config;
  }

  public Preprocessing preprocessing() {
    return preprocessing;
  }

  public List<String> labels() {
    return labels;
  }

  /** The batching options, empty when batching is off. */
  public Optional<Batching> batching() {
    return batcher == null ? Optional.empty() : Optional.of(batcher.options);
  }

  /** What the batcher has done so far (all zero when batching is off). */
  public BatchingStats batchingStats() {
    return batcher == null ? new BatchingStats(0, 0, 0, 0, 0, 0, 0, 0) : batcher.stats();
  }

  /** The SavedModel bundle (its session is shared; do not close it). */
  public SavedModelBundle bundle() {
    return bundle;
  }

  // ---- images ----

  public Classification classify(Path image) {
    return classifyAll(List.of(ImageInput.of(image))).get(0);
  }

  public Classification classify(byte[] encoded) {
    return classifyAll(List.of(ImageInput.of("image", encoded))).get(0);
  }

  public Classification classify(BufferedImage image) {
    return classifyAll(List.of(ImageInput.of("image", image))).get(0);
  }

  /** Classifies files in one batch. */
  public List<Classification> classifyPaths(List<Path> images) {
    return classifyAll(images.stream().map(ImageInput::of).toList());
  }

  /**
   * Classifies a batch in one run (images may differ in size; with batching on, a call of fewer than
   * {@code maxBatchSize} images shares its run with concurrent calls). If an image cannot be decoded,
   * throws a {@link BadInputException} naming it (its position and name).
   */
  public List<Classification> classifyAll(List<ImageInput> images) {
    requireSignature(CLASSIFY_IMAGES);
    if (images.isEmpty()) return List.of();
    ClassifyOutcome o = classifyOutcome(images);
    if (o.batchError() == null) return o.each().stream().map(ImageResult::classification).toList();
    List<ImageResult> each = o.each();
    List<String> failed = new ArrayList<>();
    ImageResult first = null;
    for (int i = 0; i < each.size(); i++) {
      if (!each.get(i).ok()) {
        failed.add(Integer.toString(i));
        if (first == null) first = each.get(i);
      }
    }
    if (first == null) throw o.batchError(); // not an image's fault
    int idx = each.indexOf(first);
    String more = failed.size() > 1 ? " (" + (failed.size() - 1) + " more failed: images " + String.join(", ", failed.subList(1, failed.size())) + ")" : "";
    throw new BadInputException(describe(idx, images.size(), first.image()) + ": " + first.error() + more, o.batchError());
  }

  /** Classifies a batch, each image on its own account: one that fails gets an error, the others still run. */
  public List<ImageResult> classifyEach(List<ImageInput> images) {
    requireSignature(CLASSIFY_IMAGES);
    if (images.isEmpty()) return List.of();
    return classifyOutcome(images).each();
  }

  /**
   * Per-image results of classifying {@code images}; {@code batchError} is the failure of the run over
   * all of them (then {@code each} comes from running every image alone), null when that run succeeded.
   */
  private record ClassifyOutcome(List<ImageResult> each, RuntimeException batchError) {}

  private ClassifyOutcome classifyOutcome(List<ImageInput> images) {
    String[] tooLarge = tooLarge(images);
    if (tooLarge != null) return withoutTooLarge(images, tooLarge);
    if (batcher != null && images.size() < batcher.options.maxBatchSize()) {
      checkOpen();
      return batcher.submit(new ClassifyCall(List.copyOf(images)));
    }
    return classifyDirect(images);
  }

  /** Per image, why its header refuses it (null: accepted); null when every image is accepted. */
  private String[] tooLarge(List<ImageInput> images) {
    long limit = maxPixels;
    String[] reasons = null;
    for (int i = 0; i < images.size(); i++) {
      var header = ImageHeader.read(images.get(i).bytes());
      if (header.isPresent() && header.get().pixels() > limit) {
        if (reasons == null) reasons = new String[images.size()];
        reasons[i] = ImageHeader.tooLarge(header.get().width(), header.get().height(), limit);
      }
    }
    return reasons;
  }

  /** The refused images get their reason; the others are classified together as usual. */
  private ClassifyOutcome withoutTooLarge(List<ImageInput> images, String[] reasons) {
    List<ImageInput> rest = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) if (reasons[i] == null) rest.add(images.get(i));
    ClassifyOutcome r = rest.isEmpty() ? new ClassifyOutcome(List.of(), null) : classifyOutcome(rest);
    List<ImageResult> each = new ArrayList<>(images.size());
    int k = 0;
    String first = null;
    for (int i = 0; i < images.size(); i++) {
      if (reasons[i] == null) {
        each.add(r.each().get(k++));
      } else {
        each.add(new ImageResult(images.get(i).name(), null, reasons[i]));
        if (first == null) first = describe(i, images.size(), images.get(i).name()) + ": " + reasons[i];
      }
    }
    return new ClassifyOutcome(each, r.batchError() != null ? r.batchError() : new BadInputException(first));
  }

  /** One run over {@code images}; if it fails, each image alone (the unbatched path). */
  private ClassifyOutcome classifyDirect(List<ImageInput> images) {
    try {
      return new ClassifyOutcome(succeeded(images, runClassify(images)), null);
    } catch (TFInvalidArgumentException | TensorFlowException e) {
      if (!someImageFailed(e, images.size())) throw e;
      return new ClassifyOutcome(diagnose(images), e);
    }
  }

  /**
   * Whether a failed run over encoded images may be one image's fault, to be found by running each alone:
   * TF reports a bad image as InvalidArgument (an IllegalArgumentException in TF Java, not a
   * TensorFlowException), but in a batch the graph's parallel decode loop can report
   * the cancellation of another iteration first ("Function was cancelled before it was started", a plain
   * TensorFlowException), so any failure of a multi-image run is diagnosed image by image; a failure that
   * is no image's fault recurs there. Even one image's run can report the loop's cancellation ("Loop
   * execution was cancelled") before the decode error that caused it.
   */
  private static boolean someImageFailed(RuntimeException e, int images) {
    return e instanceof TFInvalidArgumentException || images > 1 || OneImageRun.cancelled(e);
  }

  private static List<ImageResult> succeeded(List<ImageInput> images, List<Classification> all) {
    List<ImageResult> out = new ArrayList<>(all.size());
    for (int i = 0; i < all.size(); i++) out.add(new ImageResult(images.get(i).name(), all.get(i), null));
    return out;
  }

  /** Runs each image alone to find which ones fail. */
  private List<ImageResult> diagnose(List<ImageInput> images) {
    List<ImageResult> out = new ArrayList<>();
    for (ImageInput img : images) {
      try {
        out.add(new ImageResult(img.name(), OneImageRun.run(() -> runClassify(List.of(img))).get(0), null));
      } catch (TFInvalidArgumentException e) {
        out.add(new ImageResult(img.name(), null, imageError(e)));
      }
    }
    return out;
  }

  private List<Classification> runClassify(List<ImageInput> images) {
    return withSession(() -> runClassifyOpen(images));
  }

  private List<Classification> runClassifyOpen(List<ImageInput> images) {
    try (TString in = bytesTensor(images)) {
      try (Result res = call(CLASSIFY_IMAGES, IMAGE_BYTES, in)) {
        TFloat32 probs = output(res, PROBABILITIES, TFloat32.class);
        TInt32 idx = output(res, TOP_K_INDICES, TInt32.class);
        TString lab = output(res, TOP_K_LABELS, TString.class);
        TFloat32 topP = output(res, TOP_K_PROBABILITIES, TFloat32.class);
        int n = images.size();
        int classes = (int) probs.shape().get(1);
        int k = (int) idx.shape().get(1);
        float[] all = new float[n * classes];
        probs.copyTo(DataBuffers.of(all, false, false));
        List<Classification> out = new ArrayList<>(n);
        for (int b = 0; b < n; b++) {
          List<Prediction> top = new ArrayList<>(k);
          for (int j = 0; j < k; j++) {
            top.add(new Prediction(idx.getInt(b, j), lab.getObject(b, j), topP.getFloat(b, j)));
          }
          out.add(new Classification(images.get(b).name(), List.copyOf(top),
              Arrays.copyOfRange(all, b * classes, (b + 1) * classes)));
        }
        return out;
      }
    }
  }

  /** The top {@code k} classes of a probability vector (ties: lower index first). */
  public List<Prediction> top(float[] probabilities, int k) {
    Integer[] order = new Integer[probabilities.length];
    for (int i = 0; i < order.length; i++) order[i] = i;
    Arrays.sort(order, (a, b) -> probabilities[a] != probabilities[b] ? Float.compare(probabilities[b], probabilities[a]) : Integer.compare(a, b));
    List<Prediction> out = new ArrayList<>();
    for (int i = 0; i < Math.min(k, order.length); i++) {
      int c = order[i];
      out.add(new Prediction(c, c < labels.size() ? labels.get(c) : "class_" + c, probabilities[c]));
    }
    return out;
  }

  /** The graph's preprocessing alone: encoded images → float32 [N, size, size, C] (NHWC, normalised). */
  public HostTensor preprocess(List<ImageInput> images) {
    requireSignature(PREPROCESS_IMAGES);
    if (images.isEmpty()) {
      return HostTensor.ofFloats(new long[] {0, preprocessing.inputSize(), preprocessing.inputSize(), config.inChans()}, new float[0]);
    }
    String[] tooLarge = tooLarge(images);
    if (tooLarge != null) {
      for (int i = 0; i < tooLarge.length; i++) {
        if (tooLarge[i] != null) throw new BadInputException(describe(i, images.size(), images.get(i).name()) + ": " + tooLarge[i]);
      }
    }
    Supplier<HostTensor> run = () -> withSession(() -> {
      try (TString in = bytesTensor(images); Result res = call(PREPROCESS_IMAGES, IMAGE_BYTES, in)) {
        return TfTensors.toHost(output(res, PIXEL_VALUES, TFloat32.class));
      }
    });
    try {
      return images.size() == 1 ? OneImageRun.run(run) : run.get();
    } catch (TFInvalidArgumentException | TensorFlowException e) {
      if (!someImageFailed(e, images.size())) throw e;
      if (images.size() == 1) throw new BadInputException(images.get(0).name() + ": " + imageError(e), e);
      for (int i = 0; i < images.size(); i++) {
        try {
          preprocess(List.of(images.get(i)));
        } catch (BadInputException one) {
          String reason = one.getCause() instanceof RuntimeException c ? imageError(c) : one.getMessage();
          throw new BadInputException(describe(i, images.size(), images.get(i).name()) + ": " + reason, one.getCause());
        }
      }
      throw e;
    }
  }

  // ---- tensors ----

  /**
   * {@code serving_default}: a normalised NHWC batch [B, H, W, C] (H, W multiples of 32) → logits,
   * probabilities. With batching on, a call of fewer than {@code maxBatchSize} images is merged with
   * concurrent calls of the same H×W.
   */
  public Outputs predict(HostTensor pixelValues) {
    requireSignature(SERVING_DEFAULT);
    if (batcher != null) {
      checkOpen();
      RestModel.checkInputShape(pixelValues.shape(), config.inChans());
      if (pixelValues.shape()[0] < batcher.options.maxBatchSize()) return batcher.submit(new PredictCall(pixelValues));
    }
    return predictDirect(pixelValues);
  }

  private Outputs predictDirect(HostTensor pixelValues) {
    List<HostTensor> out = runPixels(SERVING_DEFAULT, pixelValues, List.of(LOGITS, PROBABILITIES));
    return new Outputs(out.get(0), out.get(1));
  }

  /** {@code features}: a normalised NHWC batch → the four stage maps (NHWC, strides 4, 8, 16, 32). */
  public List<HostTensor> features(HostTensor pixelValues) {
    requireSignature(FEATURES);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < RestConfig.NUM_STAGES; i++) names.add(stage(i));
    return runPixels(FEATURES, pixelValues, names);
  }

  private List<HostTensor> runPixels(String signature, HostTensor pixelValues, List<String> outputs) {
    checkOpen();
    RestModel.checkInputShape(pixelValues.shape(), config.inChans());
    try {
      return withSession(() -> {
        try (TFloat32 in = TFloat32.tensorOf(Shape.of(pixelValues.shape()), DataBuffers.of(pixelValues.toFloats(), true, false))) {
          try (Result res = call(signature, PIXEL_VALUES, in)) {
            List<HostTensor> out = new ArrayList<>();
            for (String o : outputs) out.add(TfTensors.toHost(output(res, o, TFloat32.class)));
            return out;
          }
        }
      });
    } catch (TFInvalidArgumentException e) {
      throw new BadInputException("pixel_values: " + assertionText(e.getMessage()), e);
    }
  }

  // ---- helpers ----

  private void requireSignature(String key) {
    if (!functions.containsKey(key)) {
      throw new BadInputException(directory + " has no signature " + key + " (has " + String.join(", ", functions.keySet().stream().sorted().toList()) + ")");
    }
  }

  private void checkOpen() {
    if (closed.get()) throw closedError();
  }

  private IllegalStateException closedError() {
    return new IllegalStateException(directory + ": classifier is closed");
  }

  /** Runs {@code run} (session work) unless the classifier is closed; close() waits for it to finish. */
  private <T> T withSession(Supplier<T> run) {
    var lock = runs.readLock();
    lock.lock();
    try {
      checkOpen();
      return run.get();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Calls signature {@code key} with its one input. TF Java 1.1.0's SessionFunction.call builds the same
   * Session.Runner a hand-written call would (feeds by the signature's tensor names, fetches every output,
   * one run) and re-keys the Result by output name, a map of a few entries per call. Every rest-tf
   * signature's outputs are exactly what its callers read, so nothing extra is computed. The Result (and
   * its tensors) is the caller's to close.
   */
  private Result call(String key, String input, Tensor value) {
    SessionFunction fn = functions.get(key);
    if (fn == null) throw new IllegalStateException(directory + ": no signature " + key);
    if (!fn.signature().inputNames().contains(input)) throw new IllegalStateException("signature " + key + " lacks input " + input);
    return fn.call(Map.of(input, value));
  }

  /** Output {@code name} of a signature call, of the type the export declares. */
  private static <T extends Tensor> T output(Result result, String name, Class<T> type) {
    Tensor t = result.get(name).orElseThrow(() -> new IllegalStateException("signature output " + name + " missing"));
    return type.cast(t);
  }

  private static TString bytesTensor(List<ImageInput> images) {
    byte[][] data = new byte[images.size()][];
    for (int i = 0; i < data.length; i++) data[i] = images.get(i).bytes();
    return TString.tensorOfBytes(NdArrays.vectorOfObjects(data));
  }

  private static String describe(int index, int count, String name) {
    return count == 1 ? name : "image " + index + " (" + name + ")";
  }

  private static final Pattern NOT_IMAGE = Pattern.compile("image_bytes\\[\\d+\\] is (not a JPEG, PNG, GIF or BMP file)");
  /** The graph's own pixel limit (ServingGraph.pixelLimit). */
  private static final Pattern TOO_LARGE = Pattern.compile(
      "image_bytes\\[\\d+\\]: (\\d+)x(\\d+) = \\d+ pixels exceeds the limit of (\\d+) pixels");

  /** A one-line reason from a decoder / assertion error. */
  static String imageError(RuntimeException e) {
    String text = assertionText(e.getMessage());
    Matcher m = NOT_IMAGE.matcher(text);
    if (m.find()) return m.group(1);
    Matcher big = TOO_LARGE.matcher(text);
    if (big.find()) {
      return ImageHeader.tooLarge(Long.parseLong(big.group(1)), Long.parseLong(big.group(2)), Long.parseLong(big.group(3)));
    }
    return "cannot decode image: " + text;
  }

  private static String assertionText(String message) {
    String line = firstLine(message);
    if (line.startsWith("assertion failed: [") && line.endsWith("]")) {
      line = line.substring("assertion failed: [".length(), line.length() - 1);
    }
    return line;
  }

  private static String firstLine(String s) {
    if (s == null) return "unknown error";
    String t = s.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl).strip();
  }

  static byte[] toPng(BufferedImage image) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!ImageIO.write(image, "png", out)) {
        // A colour model the PNG writer does not take: redraw as (A)RGB.
        int type = image.getColorModel().hasAlpha() ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB;
        BufferedImage copy = new BufferedImage(image.getWidth(), image.getHeight(), type);
        var g = copy.createGraphics();
        try {
          g.drawImage(image, 0, 0, null);
        } finally {
          g.dispose();
        }
        out.reset();
        if (!ImageIO.write(copy, "png", out)) throw new IllegalStateException("no PNG writer available");
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Frees the session. Safe while other threads are mid-call: session runs in progress finish (a merged
   * batch being run completes), calls still waiting in the batching queue and calls made from now on fail
   * with an {@link IllegalStateException} "classifier is closed"; the batcher threads are stopped and
   * joined.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) return;
    if (batcher != null) batcher.stop();
    var lock = runs.writeLock();
    lock.lock();
    try {
      bundle.close();
    } finally {
      lock.unlock();
    }
  }

  // ---- dynamic batching ----

  /** A queued call: its images (rows) and the future its caller waits on. */
  private abstract static class Call<T> {
    final CompletableFuture<T> result = new CompletableFuture<>();
    final long enqueued = System.nanoTime();

    abstract int rows();

    /** Whether this call can share a session run with {@code other}. */
    abstract boolean mergesWith(Call<?> other);

    void completeWith(Supplier<T> run) {
      try {
        result.complete(run.get());
      } catch (Throwable t) {
        result.completeExceptionally(t);
      }
    }
  }

  private static final class ClassifyCall extends Call<ClassifyOutcome> {
    final List<ImageInput> images;

    ClassifyCall(List<ImageInput> images) {
      this.images = images;
    }

    @Override
    int rows() {
      return images.size();
    }

    @Override
    boolean mergesWith(Call<?> other) {
      return other instanceof ClassifyCall;
    }
  }

  private static final class PredictCall extends Call<Outputs> {
    final HostTensor pixels;
    final long[] shape;

    PredictCall(HostTensor pixels) {
      this.pixels = pixels;
      this.shape = pixels.shape();
    }

    @Override
    int rows() {
      return (int) shape[0];
    }

    @Override
    boolean mergesWith(Call<?> other) {
      return other instanceof PredictCall p && p.shape[1] == shape[1] && p.shape[2] == shape[2] && p.shape[3] == shape[3];
    }
  }

  /** The queue and the thread that merges its calls into session runs. */
  private final class Batcher {
    final Batching options;
    private final long maxWaitNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Call<?>> queue = new ArrayDeque<>();
    private final List<Thread> threads = new ArrayList<>();
    private int running; // batcher threads not yet finished, guarded by lock
    private boolean stopped;
    // statistics, guarded by lock
    private long calls, items, batches, fallbacks, rejected;
    private int largestBatch, inFlight, mostInFlight;

    Batcher(Batching options) {
      this.options = options;
      this.maxWaitNanos = options.maxWaitNanos();
      this.running = options.batchThreads();
      for (int i = 0; i < options.batchThreads(); i++) {
        Thread t = new Thread(this::loop, "rest-tf-batcher-" + i + " " + directory.getFileName());
        t.setDaemon(true);
        threads.add(t);
      }
      threads.forEach(Thread::start);
    }

    BatchingStats stats() {
      lock.lock();
      try {
        return new BatchingStats(calls, items, batches, fallbacks, rejected, largestBatch, queue.size(), mostInFlight);
      } finally {
        lock.unlock();
      }
    }

    /** Queues {@code call} and waits for its result (rethrowing its failure). */
    <T> T submit(Call<T> call) {
      lock.lock();
      try {
        if (stopped || closed.get()) throw closedError();
        if (queue.size() >= options.maxQueue()) {
          rejected++;
          throw new QueueFullException(directory + ": batching queue full (" + queue.size() + " waiting)");
        }
        queue.addLast(call);
        changed.signalAll();
      } finally {
        lock.unlock();
      }
      try {
        return call.result.join();
      } catch (CompletionException e) {
        Throwable c = e.getCause();
        if (c instanceof RuntimeException r) throw r;
        if (c instanceof Error err) throw err;
        throw e;
      }
    }

    /** Stops the threads: the batches being run complete, queued calls fail; joins the threads. */
    void stop() {
      lock.lock();
      try {
        changed.signalAll();
      } finally {
        lock.unlock();
      }
      boolean interrupted = false;
      for (Thread thread : threads) {
        while (thread.isAlive()) {
          try {
            thread.join();
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
      }
      if (interrupted) Thread.currentThread().interrupt();
    }

    private void loop() {
      try {
        List<Call<?>> batch;
        while ((batch = next()) != null) {
          try {
            run(batch);
          } catch (Throwable t) {
            for (Call<?> c : batch) c.result.completeExceptionally(t);
          } finally {
            lock.lock();
            try {
              inFlight--;
            } finally {
              lock.unlock();
            }
          }
        }
      } finally {
        lock.lock();
        try {
          // the last thread out fails what is still queued; until then the others may still take it
          if (--running == 0) {
            stopped = true;
            for (Call<?> c : queue) c.result.completeExceptionally(closedError());
            queue.clear();
          }
        } finally {
          lock.unlock();
        }
      }
    }

    /**
     * Waits for the next batch: the oldest call and the calls queued after it that merge with it, up to
     * maxBatchSize images, once they fill it or the oldest has waited maxWait. Null once closed.
     */
    private List<Call<?>> next() {
      lock.lock();
      try {
        while (true) {
          if (closed.get()) return null;
          if (queue.isEmpty()) {
            changed.awaitUninterruptibly();
            continue;
          }
          Call<?> head = queue.peekFirst();
          int rows = 0;
          for (Call<?> c : queue) {
            if (c.mergesWith(head) && rows + c.rows() <= options.maxBatchSize()) rows += c.rows();
          }
          long waited = System.nanoTime() - head.enqueued;
          if (rows < options.maxBatchSize() && waited < maxWaitNanos) {
            try {
              changed.awaitNanos(maxWaitNanos - waited);
            } catch (InterruptedException e) {
              // only close() stops the batcher
            }
            continue;
          }
          List<Call<?>> batch = new ArrayList<>();
          rows = 0;
          for (Iterator<Call<?>> it = queue.iterator(); it.hasNext(); ) {
            Call<?> c = it.next();
            if (c.mergesWith(head) && rows + c.rows() <= options.maxBatchSize()) {
              rows += c.rows();
              batch.add(c);
              it.remove();
            }
          }
          calls += batch.size();
          items += rows;
          batches++;
          largestBatch = Math.max(largestBatch, rows);
          mostInFlight = Math.max(mostInFlight, ++inFlight);
          return batch;
        }
      } finally {
        lock.unlock();
      }
    }

    private void run(List<Call<?>> batch) {
      if (batch.get(0) instanceof ClassifyCall) {
        List<ClassifyCall> cs = new ArrayList<>();
        for (Call<?> c : batch) cs.add((ClassifyCall) c);
        runClassifyBatch(cs);
      } else {
        List<PredictCall> ps = new ArrayList<>();
        for (Call<?> c : batch) ps.add((PredictCall) c);
        runPredictBatch(ps);
      }
    }

    private void runClassifyBatch(List<ClassifyCall> batch) {
      if (batch.size() == 1) {
        ClassifyCall c = batch.get(0);
        c.completeWith(() -> classifyDirect(c.images));
        return;
      }
      List<ImageInput> merged = new ArrayList<>();
      for (ClassifyCall c : batch) merged.addAll(c.images);
      List<Classification> all;
      try {
        all = runClassify(merged);
      } catch (RuntimeException e) {
        if (closed.get()) throw e; // every call gets the closed error
        fellBack();
        for (ClassifyCall c : batch) c.completeWith(() -> classifyDirect(c.images));
        return;
      }
      int at = 0;
      for (ClassifyCall c : batch) {
        c.result.complete(new ClassifyOutcome(succeeded(c.images, all.subList(at, at + c.rows())), null));
        at += c.rows();
      }
    }

    private void runPredictBatch(List<PredictCall> batch) {
      if (batch.size() == 1) {
        PredictCall c = batch.get(0);
        c.completeWith(() -> predictDirect(c.pixels));
        return;
      }
      long[] shape = batch.get(0).shape.clone();
      int rows = 0;
      for (PredictCall c : batch) rows += c.rows();
      shape[0] = rows;
      float[] data = new float[Math.toIntExact(HostTensor.numElements(shape))];
      int at = 0;
      for (PredictCall c : batch) {
        float[] f = c.pixels.toFloats();
        System.arraycopy(f, 0, data, at, f.length);
        at += f.length;
      }
      Outputs all;
      try {
        all = predictDirect(HostTensor.ofFloats(shape, data));
      } catch (RuntimeException e) {
        if (closed.get()) throw e; // every call gets the closed error
        fellBack();
        for (PredictCall c : batch) c.completeWith(() -> predictDirect(c.pixels));
        return;
      }
      int row = 0;
      for (PredictCall c : batch) {
        c.result.complete(new Outputs(rows(all.logits(), row, c.rows()), rows(all.probabilities(), row, c.rows())));
        row += c.rows();
      }
    }

    private void fellBack() {
      lock.lock();
      try {
        fallbacks++;
      } finally {
        lock.unlock();
      }
    }
  }

  /** Rows [from, from + count) of {@code t} along its first dimension. */
  private static HostTensor rows(HostTensor t, int from, int count) {
    long[] shape = t.shape();
    int per = Math.toIntExact(t.size() / shape[0]);
    shape[0] = count;
    return HostTensor.ofFloats(shape, Arrays.copyOfRange(t.toFloats(), from * per, (from + count) * per));
  }
}
