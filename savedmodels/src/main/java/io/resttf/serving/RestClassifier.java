package io.resttf.serving;

import static io.resttf.serving.ServingSignatures.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TFInvalidArgumentException;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;

/**
 * Inference on an exported SavedModel (see {@link SavedModelExporter}): classify encoded images
 * (files, bytes, or {@link BufferedImage}s, which are sent as PNG) through the graph's own
 * preprocessing, run normalised NHWC batches, or get the stage feature maps.
 *
 * <p>Thread-safe: every call is one {@link Session#run} on the loaded session, which TF allows from
 * many threads, and the object holds no mutable state. Close it to free the native graph and session
 * (not while other threads still use it).
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
        throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")");
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

  private final Path directory;
  private final SavedModelBundle bundle;
  private final JsonNode metadata;
  private final RestConfig config;
  private final Preprocessing preprocessing;
  private final List<String> labels;
  private final Map<String, SignatureDef> signatures;
  private final AtomicBoolean closed = new AtomicBoolean();

  private RestClassifier(Path directory, SavedModelBundle bundle, JsonNode metadata) {
    this.directory = directory;
    this.bundle = bundle;
    this.metadata = metadata;
    String src = directory.resolve("assets").resolve(SavedModelExporter.METADATA_ASSET).toString();
    this.config = RestConfig.fromJson(metadata.path("config").toString(), src);
    this.preprocessing = Preprocessing.fromJson(metadata.get("preprocessing"), src);
    List<String> l = new ArrayList<>();
    metadata.path("labels").forEach(x -> l.add(x.asText()));
    this.labels = List.copyOf(l);
    this.signatures = Map.copyOf(bundle.metaGraphDef().getSignatureDefMap());
  }

  /**
   * Opens an export: a version directory (holding saved_model.pb) or a model directory (its highest
   * complete version).
   */
  public static RestClassifier open(Path dir) {
    Path versionDir = resolveVersionDir(dir);
    Path meta = versionDir.resolve("assets").resolve(SavedModelExporter.METADATA_ASSET);
    JsonNode metadata;
    try {
      metadata = SavedModelExporter.JSON.readTree(meta.toFile());
    } catch (IOException e) {
      throw new BadInputException(versionDir + ": not a rest-tf export (cannot read assets/"
          + SavedModelExporter.METADATA_ASSET + ": " + e.getMessage() + ")");
    }
    if (metadata == null || !SavedModelExporter.FORMAT.equals(metadata.path("format").asText())) {
      throw new BadInputException(meta + ": not rest-tf export metadata");
    }
    SavedModelBundle bundle;
    try {
      bundle = SavedModelBundle.load(versionDir.toString(), TAG);
    } catch (TensorFlowException e) {
      throw new BadInputException(versionDir + ": cannot load the SavedModel (" + firstLine(e.getMessage()) + ")", e);
    }
    try {
      return new RestClassifier(versionDir, bundle, metadata);
    } catch (RuntimeException e) {
      bundle.close();
      throw e;
    }
  }

  private static Path resolveVersionDir(Path dir) {
    if (!Files.isDirectory(dir)) throw new BadInputException(dir + ": no such directory");
    if (Files.isRegularFile(dir.resolve("saved_model.pb"))) return dir;
    List<Long> versions = SavedModelExporter.versions(dir);
    if (versions.isEmpty()) {
      throw new BadInputException(dir + ": neither a SavedModel (no saved_model.pb) nor a model directory with versions");
    }
    return SavedModelExporter.numericDirs(dir).get(versions.get(versions.size() - 1));
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
   * Classifies a batch in one run (images may differ in size). If an image cannot be decoded, throws a
   * {@link BadInputException} naming it (its position and name).
   */
  public List<Classification> classifyAll(List<ImageInput> images) {
    requireSignature(CLASSIFY_IMAGES);
    if (images.isEmpty()) return List.of();
    try {
      return runClassify(images);
    } catch (TFInvalidArgumentException e) {
      List<ImageResult> each = diagnose(images, e);
      List<String> failed = new ArrayList<>();
      ImageResult first = null;
      for (int i = 0; i < each.size(); i++) {
        if (!each.get(i).ok()) {
          failed.add(Integer.toString(i));
          if (first == null) first = each.get(i);
        }
      }
      if (first == null) throw e; // not an image's fault
      int idx = each.indexOf(first);
      String more = failed.size() > 1 ? " (" + (failed.size() - 1) + " more failed: images " + String.join(", ", failed.subList(1, failed.size())) + ")" : "";
      throw new BadInputException(describe(idx, images.size(), first.image()) + ": " + first.error() + more, e);
    }
  }

  /** Classifies a batch, each image on its own account: one that fails gets an error, the others still run. */
  public List<ImageResult> classifyEach(List<ImageInput> images) {
    requireSignature(CLASSIFY_IMAGES);
    if (images.isEmpty()) return List.of();
    try {
      List<Classification> all = runClassify(images);
      List<ImageResult> out = new ArrayList<>();
      for (int i = 0; i < all.size(); i++) out.add(new ImageResult(images.get(i).name(), all.get(i), null));
      return out;
    } catch (TFInvalidArgumentException e) {
      return diagnose(images, e);
    }
  }

  /** Runs each image alone to find which ones fail. */
  private List<ImageResult> diagnose(List<ImageInput> images, TFInvalidArgumentException batchError) {
    List<ImageResult> out = new ArrayList<>();
    for (ImageInput img : images) {
      try {
        out.add(new ImageResult(img.name(), runClassify(List.of(img)).get(0), null));
      } catch (TFInvalidArgumentException e) {
        out.add(new ImageResult(img.name(), null, imageError(e)));
      }
    }
    return out;
  }

  private List<Classification> runClassify(List<ImageInput> images) {
    checkOpen();
    SignatureDef sig = signatures.get(CLASSIFY_IMAGES);
    try (TString in = bytesTensor(images)) {
      Session.Runner r = bundle.session().runner()
          .feed(tensor(sig, IMAGE_BYTES, true), in)
          .fetch(tensor(sig, PROBABILITIES, false))
          .fetch(tensor(sig, TOP_K_INDICES, false))
          .fetch(tensor(sig, TOP_K_LABELS, false))
          .fetch(tensor(sig, TOP_K_PROBABILITIES, false));
      try (Result res = r.run()) {
        TFloat32 probs = (TFloat32) res.get(0);
        TInt32 idx = (TInt32) res.get(1);
        TString lab = (TString) res.get(2);
        TFloat32 topP = (TFloat32) res.get(3);
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
    checkOpen();
    SignatureDef sig = signatures.get(PREPROCESS_IMAGES);
    try (TString in = bytesTensor(images);
        Result res = bundle.session().runner().feed(tensor(sig, IMAGE_BYTES, true), in)
            .fetch(tensor(sig, PIXEL_VALUES, false)).run()) {
      return toHost((TFloat32) res.get(0));
    } catch (TFInvalidArgumentException e) {
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

  /** {@code serving_default}: a normalised NHWC batch [B, H, W, C] (H, W multiples of 32) → logits, probabilities. */
  public Outputs predict(HostTensor pixelValues) {
    requireSignature(SERVING_DEFAULT);
    SignatureDef sig = signatures.get(SERVING_DEFAULT);
    List<HostTensor> out = runPixels(sig, pixelValues, List.of(LOGITS, PROBABILITIES));
    return new Outputs(out.get(0), out.get(1));
  }

  /** {@code features}: a normalised NHWC batch → the four stage maps (NHWC, strides 4, 8, 16, 32). */
  public List<HostTensor> features(HostTensor pixelValues) {
    requireSignature(FEATURES);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < RestConfig.NUM_STAGES; i++) names.add(stage(i));
    return runPixels(signatures.get(FEATURES), pixelValues, names);
  }

  private List<HostTensor> runPixels(SignatureDef sig, HostTensor pixelValues, List<String> outputs) {
    checkOpen();
    RestModel.checkInputShape(pixelValues.shape(), config.inChans());
    try (TFloat32 in = TFloat32.tensorOf(Shape.of(pixelValues.shape()), DataBuffers.of(pixelValues.toFloats(), true, false))) {
      Session.Runner r = bundle.session().runner().feed(tensor(sig, PIXEL_VALUES, true), in);
      outputs.forEach(o -> r.fetch(tensor(sig, o, false)));
      try (Result res = r.run()) {
        List<HostTensor> out = new ArrayList<>();
        for (int i = 0; i < outputs.size(); i++) out.add(toHost((TFloat32) res.get(i)));
        return out;
      }
    } catch (TFInvalidArgumentException e) {
      throw new BadInputException("pixel_values: " + assertionText(e.getMessage()), e);
    }
  }

  // ---- helpers ----

  private void requireSignature(String key) {
    if (!signatures.containsKey(key)) {
      throw new BadInputException(directory + " has no signature " + key + " (has " + String.join(", ", signatures.keySet().stream().sorted().toList()) + ")");
    }
  }

  private void checkOpen() {
    if (closed.get()) throw new IllegalStateException("classifier is closed");
  }

  private static String tensor(SignatureDef sig, String name, boolean input) {
    var map = input ? sig.getInputsMap() : sig.getOutputsMap();
    var info = map.get(name);
    if (info == null) throw new IllegalStateException("signature " + sig.getMethodName() + " lacks " + name);
    return info.getName();
  }

  private static TString bytesTensor(List<ImageInput> images) {
    byte[][] data = new byte[images.size()][];
    for (int i = 0; i < data.length; i++) data[i] = images.get(i).bytes();
    return TString.tensorOfBytes(NdArrays.vectorOfObjects(data));
  }

  static HostTensor toHost(TFloat32 t) {
    long[] shape = t.shape().asArray();
    float[] data = new float[Math.toIntExact(t.size())];
    t.copyTo(DataBuffers.of(data, false, false));
    return HostTensor.ofFloats(shape, data);
  }

  private static String describe(int index, int count, String name) {
    return count == 1 ? name : "image " + index + " (" + name + ")";
  }

  private static final Pattern NOT_IMAGE = Pattern.compile("image_bytes\\[\\d+\\] is (not a JPEG, PNG, GIF or BMP file)");

  /** A one-line reason from a decoder / assertion error. */
  static String imageError(RuntimeException e) {
    String text = assertionText(e.getMessage());
    Matcher m = NOT_IMAGE.matcher(text);
    if (m.find()) return m.group(1);
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

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) bundle.close();
  }
}
