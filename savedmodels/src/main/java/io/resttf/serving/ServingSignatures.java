package io.resttf.serving;

/** Names of the exported signatures and of their inputs and outputs (the TF Serving API of an export). */
public final class ServingSignatures {
  private ServingSignatures() {}

  /** Tag of the exported MetaGraph. */
  public static final String TAG = "serve";
  /** Method name of every signature but {@link #CLASSIFY} (TF Serving's Predict API). */
  public static final String PREDICT_METHOD = "tensorflow/serving/predict";
  /** Method name of {@link #CLASSIFY}: TF Serving's Classify API (REST {@code :classify}, gRPC {@code Classify}). */
  public static final String CLASSIFY_METHOD = "tensorflow/serving/classify";

  /** {@code pixel_values} float32 [-1,-1,-1,C] (NHWC, normalised) → {@code logits}, {@code probabilities}. */
  public static final String SERVING_DEFAULT = "serving_default";
  /**
   * {@code image_bytes} string [-1] (encoded JPEG / PNG / GIF / BMP files, any size) → {@code probabilities},
   * {@code top_k_indices}, {@code top_k_labels}, {@code top_k_probabilities}.
   */
  public static final String CLASSIFY_IMAGES = "classify_images";
  /**
   * Classification exports: {@code inputs} string [-1] (serialized tf.Example, each with {@code image/encoded})
   * → {@code classes} string [B, k] (the top-k labels) and {@code scores} float32 [B, k] (their probabilities):
   * the names and method TF Serving's Classify API requires.
   */
  public static final String CLASSIFY = "classify";
  public static final String CLASSIFY_INPUTS = "inputs";
  public static final String CLASSIFY_CLASSES = "classes";
  public static final String CLASSIFY_SCORES = "scores";
  /** Name of the graph's serialized-example placeholder (the classify signature's input tensor). */
  public static final String EXAMPLES = "examples";
  /** The tf.Example feature holding an image file's bytes (TF's image datasets' key). */
  public static final String IMAGE_ENCODED_FEATURE = "image/encoded";
  /** {@code pixel_values} → {@code stage1} … {@code stage4} (NHWC feature maps of strides 4, 8, 16, 32). */
  public static final String FEATURES = "features";
  /** {@code image_bytes} → {@code pixel_values}: the in-graph preprocessing alone. */
  public static final String PREPROCESS_IMAGES = "preprocess_images";

  /** Segmentation exports: {@code serving_default} gives {@code seg_logits} [B,H,W,K] and {@code class_map} int32 [B,H,W]. */
  public static final String SEG_LOGITS = "seg_logits";
  /**
   * Segmentation exports: {@code image_bytes} string [-1] (images of one size per request) → {@code class_map} int32
   * [B,H,W] at the images' own size, {@code class_areas} int64 [B,K] (pixels per class), {@code original_sizes} [B,2].
   */
  public static final String SEGMENT_IMAGES = "segment_images";
  public static final String CLASS_AREAS = "class_areas";
  public static final String ORIGINAL_SIZES = "original_sizes";
  public static final String CLASS_MAP = "class_map";

  public static final String PIXEL_VALUES = "pixel_values";
  public static final String IMAGE_BYTES = "image_bytes";
  public static final String LOGITS = "logits";
  public static final String PROBABILITIES = "probabilities";
  public static final String TOP_K_INDICES = "top_k_indices";
  public static final String TOP_K_LABELS = "top_k_labels";
  public static final String TOP_K_PROBABILITIES = "top_k_probabilities";

  /** Output name of stage {@code i} (0..3): "stage1" … "stage4". */
  public static String stage(int i) {
    return "stage" + (i + 1);
  }

  /** Most classes the top-k outputs report. */
  public static final int MAX_TOP_K = 5;
}
