package io.resttf.serving;

import static io.resttf.serving.ServingSignatures.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.model.ModelLocation;
import io.resttf.model.SlideInference;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;

/**
 * Semantic segmentation through a segmentation export (beside {@link RestClassifier}): an encoded image in,
 * mmseg's test pipeline in the graph ({@code preprocess_images}), the network through {@code serving_default}
 * in mmseg's {@code whole} or {@code slide} mode, optionally averaged with the mirrored image (mmseg's flip
 * test: softmax probabilities averaged), the result at the image's own size. Thread-safe; close it to free
 * the native model.
 */
public final class RestSegmenter implements AutoCloseable {
  /** mmseg's test modes. */
  public enum Mode { WHOLE, SLIDE }

  /** A class map at the image's size (row-major, {@code height × width}) and the pixels of each class. */
  public record Segmentation(int width, int height, int[] classMap, long[] areas) {}

  private final Path directory;
  private final SavedModelBundle bundle;
  private final List<String> labels;
  private final int numClasses;

  private RestSegmenter(Path directory, SavedModelBundle bundle, List<String> labels, int numClasses) {
    this.directory = directory;
    this.bundle = bundle;
    this.labels = labels;
    this.numClasses = numClasses;
  }

  /** Opens a segmentation export (a version directory, or a model directory: its latest version). */
  public static RestSegmenter open(Path dir) {
    Path versionDir = ModelLocation.savedModel(dir);
    JsonNode meta = SavedModelExporter.readMetadata(versionDir);
    String task = meta == null ? "" : meta.path("task").asText(SavedModelExporter.TASK_CLASSIFICATION);
    if (!SavedModelExporter.TASK_SEGMENTATION.equals(task)) {
      throw new BadInputException(versionDir + ": a " + task + " export, not a segmentation model");
    }
    if (!meta.path("signatures").has(SEGMENT_IMAGES)) {
      throw new BadInputException(versionDir + ": this segmentation export has no " + SEGMENT_IMAGES + " signature (export it again)");
    }
    int k = meta.path("head").path("num_classes").asInt();
    List<String> labels = new ArrayList<>();
    meta.path("labels").forEach(n -> labels.add(n.asText()));
    if (labels.size() != k) throw new BadInputException(versionDir + ": " + labels.size() + " labels for " + k + " classes");
    SavedModelBundle bundle = SavedModelIntegrity.load(versionDir, () -> SavedModelBundle.load(versionDir.toString(), TAG));
    return new RestSegmenter(versionDir, bundle, List.copyOf(labels), k);
  }

  public Path directory() {
    return directory;
  }

  public List<String> labels() {
    return labels;
  }

  /** Reads and segments one image file. */
  public Segmentation segment(Path image, Mode mode, int crop, int stride, boolean flip) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(image);
    } catch (IOException e) {
      throw new BadInputException(io.resttf.util.ErrorText.describe(image, e), e);
    }
    return segment(bytes, mode, crop, stride, flip);
  }

  /** The test pipeline's output for one image: normalised pixels and the original height and width. */
  private record Preprocessed(HostTensor pixels, int height, int width) {}

  /** Segments one encoded image (JPEG, PNG, GIF or BMP). */
  public Segmentation segment(byte[] image, Mode mode, int crop, int stride, boolean flip) {
    Preprocessed pre;
    try {
      // run again if the decode loop reports its cancellation before the image's own error
      pre = OneImageRun.run(() -> {
        try (TString in = TString.tensorOfBytes(NdArrays.vectorOfObjects(image));
            Result r = bundle.function(PREPROCESS_IMAGES).call(Map.of(IMAGE_BYTES, in))) {
          TInt32 sizes = (TInt32) r.get(ORIGINAL_SIZES).orElseThrow();
          return new Preprocessed(TfTensors.toHost((TFloat32) r.get(PIXEL_VALUES).orElseThrow()), sizes.getInt(0, 0), sizes.getInt(0, 1));
        }
      });
    } catch (RuntimeException e) {
      throw imageError(e);
    }
    HostTensor pixels = pre.pixels();
    int h = pre.height(), w = pre.width();
    long[] ps = pixels.shape();
    if (mode == Mode.SLIDE && (ps[1] < crop || ps[2] < crop)) {
      // mmseg would quietly take the whole image as one crop: asking to slide a crop larger than the image
      // is a mistake worth naming
      throw new BadInputException("the image is " + ps[2] + "x" + ps[1] + " after the test pipeline, smaller than the "
          + crop + "-pixel slide crop; use --mode whole or a crop of at most " + Math.min(ps[1], ps[2]));
    }
    float[] score = scores(pixels, mode, crop, stride, h, w, flip ? 0.5f : 1f, !flip);
    if (flip) {
      float[] mirrored = scores(SlideInference.flipWidth(pixels), mode, crop, stride, h, w, 0.5f, false);
      int k = numClasses;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int to = (y * w + x) * k, from = (y * w + (w - 1 - x)) * k;
          for (int j = 0; j < k; j++) score[to + j] += mirrored[from + j];
        }
      }
    }
    int[] map = new int[h * w];
    long[] areas = new long[numClasses];
    for (int p = 0; p < map.length; p++) {
      int best = 0;
      for (int j = 1; j < numClasses; j++) if (score[p * numClasses + j] > score[p * numClasses + best]) best = j;
      map[p] = best;
      areas[best]++;
    }
    return new Segmentation(w, h, map, areas);
  }

  /**
   * The logits (or, for the flip test, softmax probabilities times {@code weight}) at the original size: mmseg
   * resizes the logits to the image (bilinear, align_corners False) before its softmax.
   */
  private float[] scores(HostTensor pixels, Mode mode, int crop, int stride, int h, int w, float weight, boolean logitsOnly) {
    HostTensor logits = mode == Mode.SLIDE
        ? SlideInference.slide(pixels, crop, stride, numClasses, this::segLogits)
        : segLogits(pixels);
    float[] out = SlideInference.resizeBilinear(logits, h, w);
    if (logitsOnly) return out;
    int k = numClasses;
    for (int p = 0; p < h * w; p++) {
      double max = Double.NEGATIVE_INFINITY, z = 0;
      for (int j = 0; j < k; j++) max = Math.max(max, out[p * k + j]);
      for (int j = 0; j < k; j++) z += Math.exp(out[p * k + j] - max);
      for (int j = 0; j < k; j++) out[p * k + j] = (float) (weight * Math.exp(out[p * k + j] - max) / z);
    }
    return out;
  }

  private HostTensor segLogits(HostTensor pixels) {
    try (TFloat32 in = TfTensors.toTf(pixels);
        Result r = bundle.function(SERVING_DEFAULT).call(Map.of(PIXEL_VALUES, in))) {
      return TfTensors.toHost((TFloat32) r.get(SEG_LOGITS).orElseThrow());
    }
  }

  /** TF's assertion texts (image_bytes[0] is not a JPEG ..., too many pixels) as one readable line. */
  private static BadInputException imageError(RuntimeException e) {
    String m = io.resttf.util.ErrorText.tensorFlow(String.valueOf(e.getMessage()));
    return new BadInputException(m.replace("image_bytes[0]", "image").replace("image_bytes[0]:", "image:"), e);
  }

  @Override
  public void close() {
    bundle.close();
  }
}
