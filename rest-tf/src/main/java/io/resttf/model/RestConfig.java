package io.resttf.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.commons.text.similarity.LevenshteinDistance;

/**
 * The architecture of one ResT / ResTv2 model: everything needed to build its graph and name its
 * weights. Serialised as JSON with the official constructor argument names (snake_case), so every
 * config.json in the reference fixtures is a valid config file. Parsing is strict: a key must be one of
 * {@link #CONFIG_KEYS} or of the descriptive {@link #METADATA_KEYS} the fixtures carry (read and ignored);
 * anything else is refused with the nearest valid name. Numbers must be whole where the field is an
 * integer, and within the bounds below (which also keep every size of the network countable in a long).
 *
 * @param family          v1 (ResT) or v2 (ResTv2)
 * @param embedDims       channels of the four stages
 * @param numHeads        attention heads per stage (each divides its stage's dims)
 * @param depths          blocks per stage
 * @param srRatios        spatial-reduction ratio of K/V per stage (1 = none)
 * @param mlpRatios       MLP hidden width / dims per stage
 * @param numClasses      classifier outputs; 0 = no head (backbone only)
 * @param inChans         input channels
 * @param qkvBias         bias on q and kv (v1 option; always true in v2)
 * @param applyTransform  v1 head interaction (1x1 conv + InstanceNorm on the attention map) in stages
 *                        with more than one head
 * @param layerNormEps    LayerNorm epsilon (official: 1e-5 in v1, 1e-6 in v2)
 * @param dropPathRate    stochastic depth rate, linearly increasing over blocks (training only)
 * @param reduction       how K/V are spatially reduced when sr > 1 (official: depthwise conv)
 * @param positionEncoding position encoding after the stem and each patch embedding (official: PA)
 * @param upsample        v2 upsample branch (official: pixel-shuffle; "none" in v1, which has none)
 * @param upsampleTarget  what the v2 upsample branch starts from (official: v)
 * @param attention       false: v2's "ConvNet" variant, the reduce-upsample branch without attention
 * @param windowStyle     v2 window attention style (ResTv2 §4.4; official: global)
 * @param windowSizes     v2 window side per stage, in tokens of that stage (default 64, 32, 16, 8)
 */
public record RestConfig(
    @JsonProperty("family") Family family,
    @JsonProperty("embed_dims") List<Integer> embedDims,
    @JsonProperty("num_heads") List<Integer> numHeads,
    @JsonProperty("depths") List<Integer> depths,
    @JsonProperty("sr_ratios") List<Integer> srRatios,
    @JsonProperty("mlp_ratios") List<Integer> mlpRatios,
    @JsonProperty("num_classes") int numClasses,
    @JsonProperty("in_chans") int inChans,
    @JsonProperty("qkv_bias") boolean qkvBias,
    @JsonProperty("apply_transform") boolean applyTransform,
    @JsonProperty("layer_norm_eps") double layerNormEps,
    @JsonProperty("drop_path_rate") double dropPathRate,
    @JsonProperty("reduction") DesignSpace.Reduction reduction,
    @JsonProperty("position_encoding") DesignSpace.PositionEncoding positionEncoding,
    @JsonProperty("upsample") DesignSpace.Upsample upsample,
    @JsonProperty("upsample_target") DesignSpace.UpsampleTarget upsampleTarget,
    @JsonProperty("attention") boolean attention,
    @JsonProperty("window_style") DesignSpace.WindowStyle windowStyle,
    @JsonProperty("window_sizes") List<Integer> windowSizes) {

  public static final int NUM_STAGES = 4;
  /** Total downsampling of the network: inputs must be multiples of this. */
  public static final int STRIDE = 32;

  /** Official BatchNorm epsilon (PyTorch default). */
  public static final double BATCH_NORM_EPS = 1e-5;
  /** Official InstanceNorm epsilon of the v1 head interaction. */
  public static final double INSTANCE_NORM_EPS = 1e-5;

  /** Upper bounds of a config: far above every released model, low enough to refuse absurd sizes at once. */
  public static final int MAX_EMBED_DIM = 65536;
  public static final int MAX_DEPTH = 1000;
  public static final int MAX_MLP_RATIO = 64;
  public static final int MAX_NUM_CLASSES = 1_000_000;
  public static final int MAX_IN_CHANS = 1024;
  public static final double MAX_LAYER_NORM_EPS = 1.0;
  public static final int MAX_WINDOW_SIZE = 4096;
  /** The ResTv2 paper's window sides (tokens per stage: 256 pixels in every stage). */
  public static final List<Integer> DEFAULT_WINDOW_SIZES = List.of(64, 32, 16, 8);

  /** The architecture's keys (the official constructor argument names). */
  public static final Set<String> CONFIG_KEYS = Set.of(
      "family", "embed_dims", "num_heads", "depths", "sr_ratios", "mlp_ratios", "num_classes", "in_chans",
      "qkv_bias", "apply_transform", "layer_norm_eps", "drop_path_rate",
      "reduction", "position_encoding", "upsample", "upsample_target", "attention", "window_style", "window_sizes");

  /**
   * Descriptive keys a config file may carry besides the architecture, as the reference fixtures do
   * (fixtures/README.md): the case's name and variant, the seed and width divisor it was made with, how
   * its checkpoint is wrapped, its inputs and gradients, and for a trained model its dataset, labels,
   * preprocessing, recipe and results. They are accepted and ignored; nothing else is.
   */
  public static final Set<String> METADATA_KEYS = Set.of(
      "name", "variant", "seed", "width_divisor", "checkpoint", "inputs", "gradients",
      "dataset", "labels", "preprocessing", "epochs", "training_recipe", "train_seconds", "official_test_accuracy");

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private static final String[] REQUIRED = {
    "family", "embed_dims", "num_heads", "depths", "sr_ratios", "mlp_ratios", "num_classes", "in_chans"
  };

  public RestConfig {
    embedDims = List.copyOf(embedDims);
    numHeads = List.copyOf(numHeads);
    depths = List.copyOf(depths);
    srRatios = List.copyOf(srRatios);
    mlpRatios = List.copyOf(mlpRatios);
    windowSizes = windowSizes == null ? null : List.copyOf(windowSizes);
  }

  /** Defaults for the optional fields as the official code has them. */
  public static RestConfig of(
      Family family,
      List<Integer> embedDims,
      List<Integer> numHeads,
      List<Integer> depths,
      List<Integer> srRatios,
      List<Integer> mlpRatios,
      int numClasses,
      int inChans) {
    return official(family, embedDims, numHeads, depths, srRatios, mlpRatios, numClasses, inChans, true,
        family == Family.V1, family.defaultLayerNormEps(), 0.0);
  }

  /** The official model with these core fields (every design-space option at its default). */
  public static RestConfig official(Family family, List<Integer> embedDims, List<Integer> numHeads, List<Integer> depths,
      List<Integer> srRatios, List<Integer> mlpRatios, int numClasses, int inChans, boolean qkvBias,
      boolean applyTransform, double layerNormEps, double dropPathRate) {
    return new RestConfig(family, embedDims, numHeads, depths, srRatios, mlpRatios, numClasses, inChans, qkvBias,
        applyTransform, layerNormEps, dropPathRate, DesignSpace.Reduction.DWCONV, DesignSpace.PositionEncoding.PA,
        defaultUpsample(family), DesignSpace.UpsampleTarget.V, true, DesignSpace.WindowStyle.GLOBAL,
        DEFAULT_WINDOW_SIZES);
  }

  /** Pixel-shuffle in v2; v1 has no upsample branch. */
  static DesignSpace.Upsample defaultUpsample(Family family) {
    return family == Family.V2 ? DesignSpace.Upsample.PIXEL_SHUFFLE : DesignSpace.Upsample.NONE;
  }

  /** This config with the design-space options given (the others as they are). */
  public RestConfig withDesign(DesignSpace.Reduction reduction, DesignSpace.PositionEncoding positionEncoding,
      DesignSpace.Upsample upsample, DesignSpace.UpsampleTarget upsampleTarget, boolean attention) {
    return new RestConfig(family, embedDims, numHeads, depths, srRatios, mlpRatios, numClasses, inChans, qkvBias,
        applyTransform, layerNormEps, dropPathRate, reduction, positionEncoding, upsample, upsampleTarget, attention,
        windowStyle, windowSizes);
  }

  /** This config with head interaction switched on or off. */
  public RestConfig withApplyTransform(boolean on) {
    return new RestConfig(family, embedDims, numHeads, depths, srRatios, mlpRatios, numClasses, inChans, qkvBias,
        on, layerNormEps, dropPathRate, reduction, positionEncoding, upsample, upsampleTarget, attention,
        windowStyle, windowSizes);
  }

  /** This config with another window style and sizes. */
  public RestConfig withWindows(DesignSpace.WindowStyle style, List<Integer> sizes) {
    return new RestConfig(family, embedDims, numHeads, depths, srRatios, mlpRatios, numClasses, inChans, qkvBias,
        applyTransform, layerNormEps, dropPathRate, reduction, positionEncoding, upsample, upsampleTarget, attention,
        style, sizes);
  }

  /** Blocks of stage {@code stage} attend within windows: all in win / cwin, all but the last in hwin. */
  public boolean windowed(int stage, int block) {
    return switch (windowStyle) {
      case GLOBAL -> false;
      case WIN, CWIN -> true;
      case HWIN -> block < depths.get(stage) - 1;
    };
  }

  /** The window side of stage {@code stage}, in tokens. */
  public int windowSize(int stage) {
    return windowSizes.get(stage);
  }

  public int dim(int stage) {
    return embedDims.get(stage);
  }

  public int heads(int stage) {
    return numHeads.get(stage);
  }

  public int depth(int stage) {
    return depths.get(stage);
  }

  public int srRatio(int stage) {
    return srRatios.get(stage);
  }

  public int mlpHidden(int stage) {
    return embedDims.get(stage) * mlpRatios.get(stage);
  }

  public int totalBlocks() {
    return depths.stream().mapToInt(Integer::intValue).sum();
  }

  /**
   * Head interaction is active in stage {@code stage}: apply_transform on, more than one head (as the
   * official {@code apply_transform and num_heads > 1}), and an attention to interact in.
   */
  public boolean headInteraction(int stage) {
    return applyTransform && attention && numHeads.get(stage) > 1;
  }

  public RestConfig withNumClasses(int n) {
    return new RestConfig(family, embedDims, numHeads, depths, srRatios, mlpRatios, n, inChans,
        qkvBias, applyTransform, layerNormEps, dropPathRate, reduction, positionEncoding, upsample, upsampleTarget,
        attention, windowStyle, windowSizes);
  }

  public RestConfig withDropPathRate(double rate) {
    return new RestConfig(family, embedDims, numHeads, depths, srRatios, mlpRatios, numClasses,
        inChans, qkvBias, applyTransform, layerNormEps, rate, reduction, positionEncoding, upsample, upsampleTarget,
        attention, windowStyle, windowSizes);
  }

  /** Checks internal consistency; throws {@link BadInputException} naming the first problem. */
  public RestConfig validate() {
    if (family == null) throw new BadInputException("config: family must be \"v1\" or \"v2\"");
    checkList("embed_dims", embedDims, 1, MAX_EMBED_DIM);
    checkList("num_heads", numHeads, 1, MAX_EMBED_DIM);
    checkList("depths", depths, 1, MAX_DEPTH);
    checkList("sr_ratios", srRatios, 1, STRIDE / 4);
    checkList("mlp_ratios", mlpRatios, 1, MAX_MLP_RATIO);
    for (int s = 0; s < NUM_STAGES; s++) {
      if (embedDims.get(s) % numHeads.get(s) != 0) {
        throw new BadInputException(String.format(
            "config: num_heads[%d]=%d does not divide embed_dims[%d]=%d", s, numHeads.get(s), s, embedDims.get(s)));
      }
      if ((STRIDE / 4 >> s) % srRatios.get(s) != 0 && srRatios.get(s) != 1) {
        // The reduced grid (H/4/2^s)/sr must be whole for every input that is a multiple of 32.
        throw new BadInputException(String.format(
            "config: sr_ratios[%d]=%d must divide %d (the stage's grid for a 32x32 input, times any whole number)",
            s, srRatios.get(s), STRIDE / 4 >> s));
      }
    }
    if (embedDims.get(0) % 2 != 0) {
      throw new BadInputException("config: embed_dims[0] must be even (the stem's hidden width is embed_dims[0]/2)");
    }
    if (numClasses < 0 || numClasses > MAX_NUM_CLASSES) {
      throw new BadInputException("config: num_classes must be between 0 and " + MAX_NUM_CLASSES + ", got " + numClasses);
    }
    if (inChans < 1 || inChans > MAX_IN_CHANS) {
      throw new BadInputException("config: in_chans must be between 1 and " + MAX_IN_CHANS + ", got " + inChans);
    }
    if (!(layerNormEps > 0 && layerNormEps <= MAX_LAYER_NORM_EPS)) {
      throw new BadInputException("config: layer_norm_eps must be in (0, " + MAX_LAYER_NORM_EPS + "], got " + layerNormEps);
    }
    if (!(dropPathRate >= 0 && dropPathRate < 1)) {
      throw new BadInputException("config: drop_path_rate must be in [0, 1), got " + dropPathRate);
    }
    validateDesign();
    return this;
  }

  /** The design-space options: each set, and combined only where the papers' models have them. */
  private void validateDesign() {
    if (reduction == null || positionEncoding == null || upsample == null || upsampleTarget == null
        || windowStyle == null) {
      throw new BadInputException("config: reduction, position_encoding, upsample, upsample_target and window_style"
          + " must be set");
    }
    checkList("window_sizes", windowSizes, 1, MAX_WINDOW_SIZE);
    if (family == Family.V1) {
      if (upsample != DesignSpace.Upsample.NONE) {
        throw new BadInputException("config: upsample \"" + upsample.id() + "\" is a ResTv2 option; ResT (v1) has no"
            + " upsample branch (use \"none\")");
      }
      if (upsampleTarget != DesignSpace.UpsampleTarget.V) {
        throw new BadInputException("config: upsample_target is a ResTv2 option; ResT (v1) has no upsample branch");
      }
      if (!attention) throw new BadInputException("config: attention=false (the ConvNet variant) is a ResTv2 option");
      if (windowStyle != DesignSpace.WindowStyle.GLOBAL) {
        throw new BadInputException("config: window_style \"" + windowStyle.id() + "\" is for ResTv2 backbones; ResT"
            + " (v1) attends globally");
      }
    }
    if (!attention) {
      if (upsample == DesignSpace.Upsample.NONE) {
        throw new BadInputException("config: attention=false keeps only the upsample branch, so upsample cannot be"
            + " \"none\"");
      }
      if (upsampleTarget == DesignSpace.UpsampleTarget.K) {
        throw new BadInputException("config: attention=false has no keys to upsample; upsample_target must be \"v\""
            + " or \"x\"");
      }
      if (windowStyle != DesignSpace.WindowStyle.GLOBAL) {
        throw new BadInputException("config: window_style applies to attention; attention=false has none");
      }
    }
    for (int s = 0; s < NUM_STAGES; s++) {
      if (windowSizes.get(s) % srRatios.get(s) != 0) {
        throw new BadInputException(String.format("config: window_sizes[%d]=%d must be a multiple of sr_ratios[%d]=%d"
            + " (each window is reduced on its own)", s, windowSizes.get(s), s, srRatios.get(s)));
      }
    }
  }

  private static void checkList(String name, List<Integer> list, int min, int max) {
    if (list == null) throw new BadInputException("config: missing field " + name);
    if (list.size() != NUM_STAGES) {
      throw new BadInputException("config: " + name + " must have " + NUM_STAGES + " entries, got " + list.size());
    }
    for (Integer v : list) {
      if (v == null || v < min || v > max) {
        throw new BadInputException("config: " + name + " entries must be integers between " + min + " and " + max
            + ", got " + list);
      }
    }
  }

  // ---- JSON ----

  public static RestConfig fromJson(String json, String source) {
    JsonNode node;
    try {
      node = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new BadInputException(source + ": not valid JSON (" + firstLine(e.getOriginalMessage()) + ")");
    }
    if (node == null || !node.isObject()) throw new BadInputException(source + ": not a JSON object");
    // A file may hold {"config": {...}} (the manifests) or the config itself.
    if (!node.has("family") && node.has("config") && node.get("config").isObject()) {
      node = node.get("config");
    }
    ObjectNode obj = (ObjectNode) node;
    for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!CONFIG_KEYS.contains(key) && !METADATA_KEYS.contains(key)) {
        throw new BadInputException(source + ": unknown config key \"" + key + "\"" + suggestion(key));
      }
    }
    List<String> missing = new ArrayList<>();
    for (String f : REQUIRED) if (!obj.hasNonNull(f)) missing.add(f);
    if (!missing.isEmpty()) throw new BadInputException(source + ": config is missing fields " + missing);
    if (!obj.get("family").isTextual()) throw new BadInputException(source + ": family must be \"v1\" or \"v2\"");
    Family family;
    try {
      family = Family.parse(obj.get("family").asText());
    } catch (IllegalArgumentException e) {
      throw new BadInputException(source + ": " + e.getMessage());
    }
    RestConfig c = new RestConfig(
        family,
        intList(obj, "embed_dims", source),
        intList(obj, "num_heads", source),
        intList(obj, "depths", source),
        intList(obj, "sr_ratios", source),
        intList(obj, "mlp_ratios", source),
        wholeNumber(obj.get("num_classes"), "num_classes", source),
        wholeNumber(obj.get("in_chans"), "in_chans", source),
        bool(obj, "qkv_bias", true, source),
        bool(obj, "apply_transform", family == Family.V1, source),
        number(obj, "layer_norm_eps", family.defaultLayerNormEps(), source),
        number(obj, "drop_path_rate", 0.0, source),
        option(obj, "reduction", DesignSpace.Reduction.class, DesignSpace.Reduction.DWCONV, source),
        option(obj, "position_encoding", DesignSpace.PositionEncoding.class, DesignSpace.PositionEncoding.PA, source),
        option(obj, "upsample", DesignSpace.Upsample.class, defaultUpsample(family), source),
        option(obj, "upsample_target", DesignSpace.UpsampleTarget.class, DesignSpace.UpsampleTarget.V, source),
        bool(obj, "attention", true, source),
        option(obj, "window_style", DesignSpace.WindowStyle.class, DesignSpace.WindowStyle.GLOBAL, source),
        obj.hasNonNull("window_sizes") ? intList(obj, "window_sizes", source) : DEFAULT_WINDOW_SIZES);
    try {
      return c.validate();
    } catch (BadInputException e) {
      throw new BadInputException(source + ": " + e.getMessage());
    }
  }

  /** " (did you mean X?)" for the valid key nearest to {@code key} in edit distance, when one is near. */
  static String suggestion(String key) {
    LevenshteinDistance distance = LevenshteinDistance.getDefaultInstance();
    String nearest = CONFIG_KEYS.stream()
        .min(Comparator.comparingInt((String k) -> distance.apply(key, k)).thenComparing(k -> k))
        .orElseThrow();
    // near: at most a third of the longer name differs (layer_norm_epsilon → layer_norm_eps is 4 of 18)
    int d = distance.apply(key, nearest);
    return d <= Math.max(key.length(), nearest.length()) / 3 ? " (did you mean " + nearest + "?)"
        : " (valid keys: " + String.join(", ", CONFIG_KEYS.stream().sorted().toList()) + ")";
  }

  private static List<Integer> intList(ObjectNode obj, String key, String source) {
    JsonNode n = obj.get(key);
    if (!n.isArray()) throw new BadInputException(source + ": " + key + " must be a list of " + NUM_STAGES + " integers");
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) out.add(wholeNumber(n.get(i), key + "[" + i + "]", source));
    return out;
  }

  /** A JSON number with no fractional part (1e3 is 1000) that fits an int; refused with its name otherwise. */
  private static int wholeNumber(JsonNode n, String name, String source) {
    if (n == null || !n.isNumber()) {
      throw new BadInputException(source + ": " + name + " must be an integer, got " + n);
    }
    if (!Double.isFinite(n.doubleValue())) {
      // 1e400 parses as an infinite double, which has no decimal value
      throw new BadInputException(source + ": " + name + " is out of range, got " + n.asText());
    }
    BigDecimal v = n.decimalValue();
    if (v.signum() != 0 && v.stripTrailingZeros().scale() > 0) {
      throw new BadInputException(source + ": " + name + " must be an integer, got " + n);
    }
    try {
      return v.intValueExact();
    } catch (ArithmeticException e) {
      throw new BadInputException(source + ": " + name + " is out of range, got " + n.asText());
    }
  }

  private static boolean bool(ObjectNode obj, String key, boolean absent, String source) {
    JsonNode n = obj.get(key);
    if (n == null || n.isNull()) return absent;
    if (!n.isBoolean()) throw new BadInputException(source + ": " + key + " must be true or false, got " + n);
    return n.booleanValue();
  }

  private static <E extends Enum<E> & DesignSpace.Named> E option(ObjectNode obj, String key, Class<E> type, E absent,
      String source) {
    JsonNode n = obj.get(key);
    if (n == null || n.isNull()) return absent;
    if (!n.isTextual()) {
      throw new BadInputException(source + ": " + key + " must be one of " + DesignSpace.ids(type) + ", got " + n);
    }
    try {
      return DesignSpace.parse(type, key, n.asText());
    } catch (BadInputException e) {
      throw new BadInputException(source + ": " + e.getMessage());
    }
  }

  private static double number(ObjectNode obj, String key, double absent, String source) {
    JsonNode n = obj.get(key);
    if (n == null || n.isNull()) return absent;
    if (!n.isNumber()) throw new BadInputException(source + ": " + key + " must be a number, got " + n);
    return n.doubleValue();
  }

  public static RestConfig read(Path file) {
    try {
      return fromJson(Files.readString(file), file.toString());
    } catch (NoSuchFileException e) {
      throw new BadInputException(file + ": no such file");
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")");
    }
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** This config as a JSON tree, for embedding in larger documents (SavedModel metadata). */
  public ObjectNode toJsonNode() {
    return JSON.valueToTree(this);
  }

  private static String firstLine(String s) {
    if (s == null) return "unknown error";
    Iterator<String> it = s.lines().iterator();
    return it.hasNext() ? it.next() : s;
  }
}
