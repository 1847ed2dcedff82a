package io.resttf.training;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.tensor.BadInputException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every setting of a training run that changes its numbers, and how often it keeps checkpoints (which
 * does not change them, but is the run's own like the rest). Fields are nullable: a run's options are
 * the {@linkplain Recipe recipe}'s defaults {@linkplain #overriddenBy overridden by} what the user gave;
 * {@link #validate()} requires all of them. Serialised (snake_case) into the run directory, and a
 * resumed run must have exactly the same.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class TrainOptions {
  static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** Learning-rate schedules. */
  public static final String COSINE = "cosine", ONE_CYCLE = "onecycle", CONSTANT = "constant";
  /** Train-time augmentation: random resized crop + flip, flip per image, flip the whole batch, none. */
  public static final String RRC_FLIP = "rrc-flip", FLIP = "flip", BATCH_FLIP = "batch-flip", NONE = "none";
  /** Which weights the final SavedModel gets. */
  public static final String EXPORT_AUTO = "auto", EXPORT_BEST = "best", EXPORT_LAST = "last", EXPORT_EMA = "ema";

  @JsonProperty("recipe") public String recipe;
  @JsonProperty("epochs") public Integer epochs;
  @JsonProperty("batch") public Integer batch;
  /** Peak learning rate (cosine: base; one-cycle: max_lr). */
  @JsonProperty("lr") public Double lr;
  @JsonProperty("schedule") public String schedule;
  @JsonProperty("warmup_epochs") public Double warmupEpochs;
  @JsonProperty("min_lr") public Double minLr;
  @JsonProperty("pct_start") public Double pctStart;
  @JsonProperty("div_factor") public Double divFactor;
  @JsonProperty("final_div_factor") public Double finalDivFactor;
  @JsonProperty("cycle_momentum") public Boolean cycleMomentum;
  @JsonProperty("base_momentum") public Double baseMomentum;
  @JsonProperty("max_momentum") public Double maxMomentum;
  @JsonProperty("weight_decay") public Double weightDecay;
  /** Decay every parameter (torch's default) rather than all but biases and norms. */
  @JsonProperty("decay_all") public Boolean decayAll;
  @JsonProperty("beta1") public Double beta1;
  @JsonProperty("beta2") public Double beta2;
  @JsonProperty("eps") public Double eps;
  /** Gradient clipping by global norm; 0 = none. */
  @JsonProperty("clip_norm") public Double clipNorm;
  @JsonProperty("label_smoothing") public Double labelSmoothing;
  /** Stochastic depth rate; null in a recipe = the model config's drop_path_rate. */
  @JsonProperty("drop_path") public Double dropPath;
  @JsonProperty("dropout") public Double dropout;
  @JsonProperty("attn_dropout") public Double attnDropout;
  @JsonProperty("ema") public Boolean ema;
  @JsonProperty("ema_decay") public Double emaDecay;
  /** Frozen parts: stem, stage1..stage4, norm, head. */
  @JsonProperty("freeze") public List<String> freeze;
  /** Re-initialise the head even when the class count is unchanged. */
  @JsonProperty("fresh_head") public Boolean freshHead;
  @JsonProperty("seed") public Long seed;
  @JsonProperty("augment") public String augment;
  /** Smallest area fraction of a random resized crop (torchvision: 0.08). */
  @JsonProperty("rrc_min_scale") public Double rrcMinScale;
  /** RandAugment as timm's string ({@code --aa}; official {@code rand-m9-mstd0.5-inc1}), or "none". */
  @JsonProperty("aa") public String aa;
  /** Mixup's Beta(α, α) (timm / official {@code --mixup}; 0 = off). */
  @JsonProperty("mixup") public Double mixup;
  /** CutMix's Beta(α, α) ({@code --cutmix}; 0 = off). */
  @JsonProperty("cutmix") public Double cutmix;
  /** Probability that a batch is mixed at all ({@code --mixup-prob}). */
  @JsonProperty("mixup_prob") public Double mixupProb;
  /** Probability of CutMix rather than Mixup when both are on ({@code --mixup-switch-prob}). */
  @JsonProperty("mixup_switch_prob") public Double mixupSwitchProb;
  /** Random erasing probability per image, pixel mode ({@code --reprob}; 0 = off). */
  @JsonProperty("reprob") public Double reprob;
  /**
   * Repeated augmentation ({@code --aug-repeats}, timm's RepeatAugSampler / DeiT's RASampler on one process): each
   * epoch takes a shuffle, repeats every image this many times in a row (each copy augmented on its own) and keeps
   * the first ⌊n / 256⌋ · 256 of that order (n when n < 256); 0 = off.
   */
  @JsonProperty("aug_repeats") public Integer augRepeats;
  /** Layer-wise learning-rate decay (official {@code --layer_decay}; 1 = off). */
  @JsonProperty("layer_decay") public Double layerDecay;
  @JsonProperty("export") public String export;
  /**
   * A step checkpoint every this many optimisation steps (0 = none: only the epoch checkpoint, written at
   * each epoch's end and on Ctrl-C), so a killed run loses at most this many steps.
   */
  @JsonProperty("checkpoint_every") public Integer checkpointEvery;
  /** How many step checkpoints are kept (the newest), besides the epoch checkpoint. */
  @JsonProperty("keep_checkpoints") public Integer keepCheckpoints;

  /** Runs recorded before step checkpoints existed had none. */
  static final int DEFAULT_CHECKPOINT_EVERY = 0, DEFAULT_KEEP_CHECKPOINTS = 1;

  public TrainOptions() {}

  /**
   * The official ImageNet-1K training recipe (TRAINING.md's command with main.py's defaults): AdamW lr 1.5e-4 ×
   * batch/256, wd 0.05 (not on biases and norms), cosine to 1e-6 after a linear warm-up of 1/6 of the epochs (50 of
   * 300), clipping at 1.0, label smoothing 0.1, EMA 0.9999, random resized crop + flip, RandAugment
   * rand-m9-mstd0.5-inc1, Mixup 0.8 / CutMix 1.0 (switch 0.5), random erasing 0.25, drop path the model's.
   */
  public static final String PAPER = "paper";
  /**
   * Fine-tuning on one's own data, the default for image folders: the paper's optimiser and schedule (warm-up
   * min(5, epochs/10)), random resized crop + flip, no RandAugment, Mixup, CutMix, erasing or EMA.
   */
  public static final String FINETUNE = "finetune";
  /**
   * TRAINING.md's 384² fine-tuning of a 224² checkpoint: lr 1.5e-5 × batch/256, no warm-up, wd 1e-8, clipping 1.0,
   * Mixup and CutMix off, RandAugment and erasing as the paper's; the command line trains at 384² unless --size says
   * otherwise (ResT's positional encoding needs no interpolation).
   */
  public static final String FINETUNE_384 = "finetune-384";
  /** The recipe of the official Fashion-MNIST run (fixtures/fashion-restv2-micro/config.json → training_recipe). */
  public static final String FASHION = "fashion";
  /** The presets, in the order help lists them. */
  public static final List<String> PRESETS = List.of(PAPER, FINETUNE, FINETUNE_384, FASHION);
  /** Input side of {@link #FINETUNE_384}. */
  public static final int FINETUNE_384_SIZE = 384;

  /** The defaults of {@code recipe} for a run of {@code epochs} epochs with batches of {@code batch}. */
  public static TrainOptions recipe(String recipe, int epochs, int batch) {
    TrainOptions o = new TrainOptions();
    o.recipe = recipe;
    o.epochs = epochs;
    o.batch = batch;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.weightDecay = 0.05;
    o.clipNorm = 1.0;
    o.labelSmoothing = 0.1;
    o.dropout = 0.0;
    o.attnDropout = 0.0;
    o.ema = false;
    o.emaDecay = 0.9999;
    o.freeze = List.of();
    o.freshHead = false;
    o.seed = 0L;
    o.rrcMinScale = 0.08;
    strongAugmentationOff(o);
    o.export = EXPORT_AUTO;
    o.checkpointEvery = DEFAULT_CHECKPOINT_EVERY;
    o.keepCheckpoints = DEFAULT_KEEP_CHECKPOINTS;
    o.minLr = 1e-6;
    o.warmupEpochs = Math.min(5.0, 0.1 * epochs);
    o.pctStart = 0.1;
    o.divFactor = 25.0;
    o.finalDivFactor = 1e4;
    o.cycleMomentum = true;
    o.baseMomentum = 0.85;
    o.maxMomentum = 0.95;
    switch (recipe) {
      case PAPER -> {
        o.lr = 1.5e-4 * batch / 256.0;
        o.schedule = COSINE;
        o.warmupEpochs = epochs / 6.0;
        o.decayAll = false;
        o.augment = RRC_FLIP;
        o.ema = true;
        o.aa = io.resttf.training.augment.RandAugment.OFFICIAL;
        o.mixup = 0.8;
        o.cutmix = 1.0;
        o.reprob = 0.25;
      }
      case FINETUNE -> {
        o.lr = 1.5e-4 * batch / 256.0;
        o.schedule = COSINE;
        o.decayAll = false;
        o.augment = RRC_FLIP;
      }
      case FINETUNE_384 -> {
        o.lr = 1.5e-5 * batch / 256.0;
        o.schedule = COSINE;
        o.warmupEpochs = 0.0;
        o.weightDecay = 1e-8;
        o.decayAll = false;
        o.augment = RRC_FLIP;
        o.aa = io.resttf.training.augment.RandAugment.OFFICIAL;
        o.reprob = 0.25;
      }
      case FASHION -> {
        o.lr = 2e-3;
        o.schedule = ONE_CYCLE;
        o.decayAll = true;
        o.dropPath = 0.05;
        o.augment = BATCH_FLIP;
      }
      default -> throw new BadInputException("unknown recipe \"" + recipe + "\"; known: " + String.join(", ", PRESETS)
          + ", or a JSON file of options (a run's " + RECIPE_FILE + ")");
    }
    return o;
  }

  /** The file a run writes its complete options to, which {@code --recipe FILE} takes back. */
  public static final String RECIPE_FILE = "recipe.json";

  /**
   * A preset, or a JSON file of options: every option of a run as its {@link #RECIPE_FILE} lists them, or some of
   * them over a preset named by {@code "base"}. {@code epochs} and {@code batch} (null: the file's) override the
   * file's. Unknown keys, wrong types and a missing option are each one clear error naming the file and key.
   */
  public static TrainOptions recipe(String recipe, Integer epochs, Integer batch, java.nio.file.Path file) {
    if (file == null) {
      if (epochs == null) throw new BadInputException("--epochs is required");
      if (batch == null) throw new BadInputException("--batch is required");
      return recipe(recipe, epochs, batch);
    }
    JsonNode n;
    try {
      n = JSON.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw new BadInputException(file + ": not valid JSON (" + e.getOriginalMessage() + ")");
    } catch (java.io.IOException e) {
      throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")");
    }
    if (!(n instanceof ObjectNode given)) throw new BadInputException(file + ": a recipe is a JSON object of options");
    java.util.Map<String, java.lang.reflect.Field> fields = new java.util.TreeMap<>();
    for (var f : TrainOptions.class.getFields()) {
      JsonProperty p = f.getAnnotation(JsonProperty.class);
      if (p != null) fields.put(p.value(), f);
    }
    List<String> keys = new ArrayList<>();
    given.fieldNames().forEachRemaining(keys::add);
    for (String k : keys) {
      if (k.equals("base")) continue;
      var f = fields.get(k);
      if (f == null) {
        String near = fields.keySet().stream()
            .min(java.util.Comparator.comparingInt(x -> org.apache.commons.text.similarity.LevenshteinDistance.getDefaultInstance().apply(x, k)))
            .orElse("");
        throw new BadInputException(file + ": unknown option \"" + k + "\" (did you mean \"" + near + "\"?)");
      }
      JsonNode v = given.get(k);
      Class<?> t = f.getType();
      boolean ok = v.isNull() || (t == Double.class ? v.isNumber() : t == Integer.class || t == Long.class ? v.canConvertToLong() && v.isIntegralNumber()
          : t == Boolean.class ? v.isBoolean() : t == String.class ? v.isTextual() : v.isArray());
      if (!ok) {
        String want = t == Double.class ? "a number" : t == Integer.class || t == Long.class ? "an integer" : t == Boolean.class ? "true or false"
            : t == String.class ? "a string" : "a list";
        throw new BadInputException(file + ": option \"" + k + "\" must be " + want + ", got " + v);
      }
    }
    TrainOptions o;
    if (given.has("base")) {
      String base = given.get("base").asText();
      if (!PRESETS.contains(base)) throw new BadInputException(file + ": base \"" + base + "\" is no preset (" + String.join(", ", PRESETS) + ")");
      Integer e = epochs != null ? epochs : given.has("epochs") ? given.get("epochs").asInt() : null;
      Integer b = batch != null ? batch : given.has("batch") ? given.get("batch").asInt() : null;
      if (e == null || b == null) throw new BadInputException(file + ": give epochs and batch (in the file or as --epochs / --batch)");
      ObjectNode over = given.deepCopy();
      over.remove("base");
      o = recipe(base, e, b).overriddenBy(fromJson(over, file.toString()));
    } else {
      // drop_path may be left out: the model config's rate
      o = fromJson(given, file.toString());
    }
    if (epochs != null) o.epochs = epochs;
    if (batch != null) o.batch = batch;
    o.recipe = file.getFileName().toString();
    List<String> missing = new ArrayList<>();
    ObjectNode have = o.toJsonNode();
    for (String k : fields.keySet()) if (!have.has(k) && !k.equals("drop_path")) missing.add(k);
    if (!missing.isEmpty()) {
      throw new BadInputException(file + ": missing " + String.join(", ", missing) + " (list every option, as a run's " + RECIPE_FILE
          + " does, or start from a preset with \"base\")");
    }
    return o;
  }

  /**
   * RandAugment, Mixup, CutMix, random erasing and layer decay off, with the official probabilities ready for when an
   * alpha or {@code reprob} is given (1.0 and 0.5). Also what runs recorded before these options existed had.
   */
  static void strongAugmentationOff(TrainOptions o) {
    o.layerDecay = 1.0;
    o.aa = AA_NONE;
    o.mixup = 0.0;
    o.cutmix = 0.0;
    o.mixupProb = 1.0;
    o.mixupSwitchProb = 0.5;
    o.reprob = 0.0;
    o.augRepeats = 0;
  }

  /** The largest --aug-repeats accepted (DeiT and timm use 3). */
  static final int MAX_AUG_REPEATS = 16;

  /** {@link #aa} without RandAugment. */
  public static final String AA_NONE = "none";

  /** The RandAugment of these options with {@code fill} for the geometric ops, or null ({@code aa} "none"). */
  public io.resttf.training.augment.RandAugment randAugment(int[] fill) {
    return AA_NONE.equals(aa) ? null : io.resttf.training.augment.RandAugment.parse(aa, fill);
  }

  /** Whether batches are mixed (then the loss takes soft targets, smoothing or not). */
  public boolean mixing() {
    return mixupProb > 0 && (mixup > 0 || cutmix > 0);
  }

  /** A copy with every non-null field of {@code given} replacing this one's. */
  public TrainOptions overriddenBy(TrainOptions given) {
    ObjectNode base = JSON.valueToTree(this);
    ObjectNode over = JSON.valueToTree(given);
    over.fields().forEachRemaining(e -> base.set(e.getKey(), e.getValue()));
    return fromJson(base, "options");
  }

  public TrainOptions copy() {
    return fromJson(JSON.valueToTree(this), "options");
  }

  /** Checks every field is present and sensible; {@link BadInputException} naming the first problem. */
  public TrainOptions validate() {
    ObjectNode n = JSON.valueToTree(this);
    List<String> missing = new ArrayList<>();
    for (var f : TrainOptions.class.getFields()) {
      JsonProperty p = f.getAnnotation(JsonProperty.class);
      if (p != null && !n.has(p.value()) && !p.value().equals("drop_path")) missing.add(p.value());
    }
    if (!missing.isEmpty()) throw new BadInputException("training options missing: " + missing);
    positive("epochs", epochs);
    positive("batch", batch);
    if (!(lr > 0) || !Double.isFinite(lr)) throw new BadInputException("--lr must be a positive number, got " + lr);
    oneOf("schedule", schedule, COSINE, ONE_CYCLE, CONSTANT);
    oneOf("augment", augment, RRC_FLIP, FLIP, BATCH_FLIP, NONE);
    oneOf("export", export, EXPORT_AUTO, EXPORT_BEST, EXPORT_LAST, EXPORT_EMA);
    range("warmup-epochs", warmupEpochs, 0, epochs);
    range("min-lr", minLr, 0, Double.MAX_VALUE);
    range("weight-decay", weightDecay, 0, 10);
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new BadInputException("Adam betas must be in [0, 1)");
    if (!(eps > 0)) throw new BadInputException("--eps must be > 0");
    range("clip-norm", clipNorm, 0, Double.MAX_VALUE);
    if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new BadInputException("--label-smoothing must be in [0, 1), got " + labelSmoothing);
    if (dropPath != null && !(dropPath >= 0 && dropPath < 1)) throw new BadInputException("--drop-path must be in [0, 1), got " + dropPath);
    if (!(dropout >= 0 && dropout < 1) || !(attnDropout >= 0 && attnDropout < 1)) {
      throw new BadInputException("--dropout and --attn-dropout must be in [0, 1)");
    }
    if (!(emaDecay > 0 && emaDecay < 1)) throw new BadInputException("--ema-decay must be in (0, 1), got " + emaDecay);
    randAugment(new int[] {0});
    range("mixup", mixup, 0, 100);
    range("cutmix", cutmix, 0, 100);
    range("mixup-prob", mixupProb, 0, 1);
    range("mixup-switch-prob", mixupSwitchProb, 0, 1);
    range("reprob", reprob, 0, 1);
    if (augRepeats < 0 || augRepeats > MAX_AUG_REPEATS) {
      throw new BadInputException("--aug-repeats must be in [0, " + MAX_AUG_REPEATS + "] (0: off; DeiT's 3), got " + augRepeats);
    }
    if (!(layerDecay > 0 && layerDecay <= 10)) throw new BadInputException("--layer-decay must be in (0, 10], got " + layerDecay);
    if (!(rrcMinScale > 0 && rrcMinScale <= 1)) throw new BadInputException("--rrc-min-scale must be in (0, 1], got " + rrcMinScale);
    if (!(pctStart > 0 && pctStart < 1)) throw new BadInputException("--pct-start must be in (0, 1), got " + pctStart);
    if (!(divFactor > 0) || !(finalDivFactor > 0)) throw new BadInputException("--div-factor and --final-div-factor must be > 0");
    if (checkpointEvery < 0) throw new BadInputException("--checkpoint-every must be >= 0 (0 = epoch checkpoints only), got " + checkpointEvery);
    positive("keep-checkpoints", keepCheckpoints);
    for (String f : freeze) FreezeGroups.check(f);
    if (EXPORT_EMA.equals(export) && !ema) throw new BadInputException("--export ema needs --ema");
    return this;
  }

  private static void positive(String name, Integer v) {
    if (v == null || v < 1) throw new BadInputException("--" + name + " must be a positive integer, got " + v);
  }

  private static void range(String name, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi)) throw new BadInputException("--" + name + " must be in [" + lo + ", " + hi + "], got " + v);
  }

  private static void oneOf(String name, String v, String... allowed) {
    for (String a : allowed) if (a.equals(v)) return;
    throw new BadInputException("--" + name + " must be one of " + String.join(", ", allowed) + ", got " + v);
  }

  /** The learning-rate schedule of a run of {@code stepsPerEpoch} steps per epoch. */
  public LrSchedule schedule(long stepsPerEpoch) {
    long total = stepsPerEpoch * epochs;
    return switch (schedule) {
      case COSINE -> LrSchedule.cosine(lr, minLr, total, Math.round(warmupEpochs * stepsPerEpoch), beta1);
      case ONE_CYCLE -> LrSchedule.oneCycle(lr, total, pctStart, divFactor, finalDivFactor, cycleMomentum,
          baseMomentum, maxMomentum, beta1);
      default -> LrSchedule.constant(lr, beta1);
    };
  }

  // ---- JSON ----

  public ObjectNode toJsonNode() {
    return JSON.valueToTree(this);
  }

  public static TrainOptions fromJson(JsonNode n, String source) {
    try {
      return JSON.treeToValue(n, TrainOptions.class);
    } catch (JsonProcessingException e) {
      throw new BadInputException(source + ": invalid training options (" + e.getOriginalMessage() + ")");
    }
  }

  /** Fields whose values differ between two option sets, as "name: a here, b there" (for resume errors). */
  public static List<String> differences(JsonNode mine, JsonNode theirs) {
    List<String> out = new ArrayList<>();
    java.util.Set<String> names = new java.util.TreeSet<>();
    mine.fieldNames().forEachRemaining(names::add);
    theirs.fieldNames().forEachRemaining(names::add);
    for (String name : names) {
      JsonNode a = mine.get(name), b = theirs.get(name);
      if (!equalJson(a, b)) out.add(name + " " + str(a) + " (run: " + str(b) + ")");
    }
    return out;
  }

  static boolean equalJson(JsonNode a, JsonNode b) {
    if (a == null || a.isNull()) return b == null || b.isNull();
    if (b == null || b.isNull()) return false;
    if (a.isNumber() && b.isNumber()) return a.asDouble() == b.asDouble();
    if (a.isContainerNode() && b.isContainerNode() && a.size() == b.size()) {
      if (a.isArray() != b.isArray()) return false;
      if (a.isArray()) {
        for (int i = 0; i < a.size(); i++) if (!equalJson(a.get(i), b.get(i))) return false;
        return true;
      }
      Iterator<Map.Entry<String, JsonNode>> it = a.fields();
      while (it.hasNext()) {
        var e = it.next();
        if (!equalJson(e.getValue(), b.get(e.getKey()))) return false;
      }
      return true;
    }
    return a.equals(b);
  }

  /** The command-line option of a field: checkpoint_every → --checkpoint-every. */
  static String flag(String field) {
    return "--" + field.replace('_', '-');
  }

  private static String str(JsonNode n) {
    return n == null || n.isNull() ? "unset" : n.toString();
  }

  @Override
  public String toString() {
    return toJsonNode().toString();
  }

  /** "1.5e-04"-style number for messages. */
  static String num(double v) {
    return String.format(Locale.ROOT, "%.3g", v);
  }
}
