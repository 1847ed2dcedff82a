package io.resttf.convert;

import io.resttf.model.BackboneStyle;
import io.resttf.model.Family;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.UperNetConfig;
import io.resttf.model.Variants;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a model config off an official state_dict: the family from the key names; widths, depths, sr
 * ratios, MLP ratios, classes and input channels from the shapes. Attention heads leave no trace in
 * ResTv2 weights (and in v1 only where heads interact), so they come from the released variant of the
 * same family and depths whose widths the checkpoint's are a whole fraction of (the smallest such
 * fraction wins: rest_small and rest_base differ only in width).
 */
public final class ConfigDetector {
  private ConfigDetector() {}

  /** A detected config, the released variant it is (or is a narrowed copy of), and how it was found. */
  public record Detection(RestConfig config, String variant, int widthDivisor, String explanation) {
    /** "restv2_tiny", or "restv2_tiny (widths / 8)" for a narrowed copy. */
    public String describe() {
      if (variant == null) return "custom config";
      return widthDivisor == 1 ? variant : variant + " (widths / " + widthDivisor + ")";
    }
  }

  private static final Pattern BLOCK = Pattern.compile("^stage([1-4])\\.(\\d+)\\.");

  public static Detection detect(Map<String, HostTensor> stateDict) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    stateDict.forEach((k, v) -> shapes.put(k, v.shape()));
    return detectShapes(shapes);
  }

  /** Detection from key → shape only. */
  public static Detection detectShapes(Map<String, long[]> s) {
    Family family;
    String stemIn, stemOut;
    String[] patch = new String[4];
    if (s.containsKey("stem.conv1.weight")) {
      family = Family.V1;
      stemIn = "stem.conv1.weight";
      stemOut = "stem.conv3.weight";
      for (int i = 1; i < 4; i++) patch[i] = "patch_embed_" + (i + 1) + ".conv.weight";
    } else if (s.containsKey("stem.proj.0.weight")) {
      family = Family.V2;
      stemIn = "stem.proj.0.weight";
      stemOut = "stem.proj.6.weight";
      for (int i = 1; i < 4; i++) patch[i] = "patch_" + (i + 1) + ".proj.weight";
    } else {
      throw new BadInputException("cannot detect the model: no stem.conv1.weight (ResT) or stem.proj.0.weight (ResTv2) key; is this a ResT checkpoint? pass --variant or --config");
    }
    int inChans = (int) need(s, stemIn, 4)[1];
    List<Integer> dims = new ArrayList<>();
    dims.add((int) need(s, stemOut, 4)[0]);
    for (int i = 1; i < 4; i++) dims.add((int) need(s, patch[i], 4)[0]);

    int[] depth = new int[4];
    for (String k : s.keySet()) {
      Matcher m = BLOCK.matcher(k);
      if (m.find()) {
        int st = Integer.parseInt(m.group(1)) - 1;
        depth[st] = Math.max(depth[st], Integer.parseInt(m.group(2)) + 1);
      }
    }
    List<Integer> depths = new ArrayList<>(), sr = new ArrayList<>(), mlp = new ArrayList<>();
    Integer[] headsFromWeights = new Integer[4];
    boolean anyTransform = false;
    for (int st = 0; st < 4; st++) {
      if (depth[st] == 0) throw new BadInputException("cannot detect the model: stage " + (st + 1) + " has no blocks");
      depths.add(depth[st]);
      String p = "stage" + (st + 1) + ".0.";
      long[] srw = s.get(p + "attn.sr.weight");
      sr.add(srw == null ? 1 : (int) srw[2] - 1);
      long[] fc1 = need(s, p + "mlp.fc1.weight", 2);
      mlp.add((int) (fc1[0] / Math.max(1, fc1[1])));
      long[] tc = s.get(p + "attn.transform_conv.weight");
      if (tc != null) {
        headsFromWeights[st] = (int) tc[0];
        anyTransform = true;
      }
    }
    boolean qkvBias = s.containsKey("stage1.0.attn.q.bias");
    long[] head = s.get("head.weight");
    int numClasses = head == null ? 0 : (int) head[0];

    // Heads: from the matching released variant, checked against what the weights do say.
    String variant = null;
    int divisor = 0;
    for (String name : Variants.names()) {
      RestConfig v = Variants.get(name);
      if (v.family() != family || !v.depths().equals(depths) || !v.srRatios().equals(sr)) continue;
      Integer d = wholeDivisor(v.embedDims(), dims);
      if (d == null || (divisor != 0 && d >= divisor)) continue;
      boolean headsAgree = true;
      for (int st = 0; st < 4; st++) {
        int h = v.heads(st);
        if (dims.get(st) % h != 0) headsAgree = false;
        if (family == Family.V1 && anyTransform && (h > 1) != (headsFromWeights[st] != null)) headsAgree = false;
        if (headsFromWeights[st] != null && headsFromWeights[st] != h) headsAgree = false;
      }
      if (!headsAgree) continue;
      variant = name;
      divisor = d;
    }
    List<Integer> heads = new ArrayList<>();
    String how;
    if (variant != null) {
      heads.addAll(Variants.get(variant).numHeads());
      how = "family " + family.id() + " from the key names; widths, depths, sr and MLP ratios from the shapes; heads from "
          + variant + (divisor == 1 ? "" : " (the checkpoint's widths are its widths / " + divisor + ")");
    } else {
      boolean all = true;
      for (int st = 0; st < 4; st++) {
        if (headsFromWeights[st] != null) heads.add(headsFromWeights[st]);
        else if (family == Family.V1 && anyTransform) heads.add(1); // no head interaction ⇒ one head
        else all = false;
      }
      if (!all) {
        throw new BadInputException("cannot detect num_heads: the checkpoint (family " + family.id() + ", embed_dims " + dims
            + ", depths " + depths + ") matches no released variant, and "
            + (family == Family.V2 ? "ResTv2 weights do not record the number of heads" : "its stages without head interaction do not record it")
            + "; pass --config with num_heads");
      }
      how = "family " + family.id() + " from the key names; everything else, heads included, from the shapes";
    }
    RestConfig config = RestConfig.official(family, dims, heads, depths, sr, mlp, numClasses, inChans, qkvBias,
        anyTransform, family.defaultLayerNormEps(), 0.0);
    config = designOptions(s, config);
    try {
      config.validate();
    } catch (BadInputException e) {
      throw new BadInputException("detected config is inconsistent (" + e.getMessage() + "); pass --config");
    }
    return new Detection(config, variant, variant == null ? 0 : divisor, how);
  }

  /**
   * The design-space options the keys show (position encoding, upsample branch or none, the ConvNet
   * variant, cwin's convs); those that leave no trace in the weights (pooling reductions, nearest vs bilinear,
   * the upsample target, window sizes) are refused with a request for --config where they must be there.
   */
  static RestConfig designOptions(Map<String, long[]> s, RestConfig c) {
    var pe = s.containsKey("stem.pos.gl_conv.weight") ? io.resttf.model.DesignSpace.PositionEncoding.GL
        : s.containsKey("stem.pos.pa_conv.weight") ? io.resttf.model.DesignSpace.PositionEncoding.PA
        : io.resttf.model.DesignSpace.PositionEncoding.NONE;
    for (int st = 0; st < 4; st++) {
      String p = "stage" + (st + 1) + ".0.attn.";
      if (!s.containsKey(p + "sr.weight") && s.containsKey(p + "sr_norm.weight")) {
        throw new BadInputException("stage " + (st + 1) + " reduces K/V by pooling (" + p + "sr_norm without " + p
            + "sr.weight): its kind (avg / max) and sr ratio leave no trace in the weights; pass --config");
      }
    }
    boolean attention = s.containsKey("stage1.0.attn.q.weight");
    var target = !attention && !s.containsKey("stage1.0.attn.v.weight") ? io.resttf.model.DesignSpace.UpsampleTarget.X
        : io.resttf.model.DesignSpace.UpsampleTarget.V;
    var upsample = c.upsample();
    if (c.family() == Family.V2) {
      if (!s.containsKey("stage1.0.attn.up_norm.weight")) {
        upsample = io.resttf.model.DesignSpace.Upsample.NONE;
      } else {
        long[] up = s.get("stage1.0.attn.up.0.weight");
        if (up != null && c.srRatio(0) > 1 && up[0] == c.dim(0)) {
          throw new BadInputException("the upsample convs keep C channels (nearest or bilinear upsampling, not"
              + " pixel-shuffle): which of the two leaves no trace in the weights; pass --config with \"upsample\"");
        }
      }
    }
    RestConfig out = c.withDesign(c.reduction(), pe, upsample, target, attention);
    if (s.containsKey("cwin1.weight")) out = out.withWindows(io.resttf.model.DesignSpace.WindowStyle.CWIN, c.windowSizes());
    try {
      return out.validate();
    } catch (BadInputException e) {
      throw new BadInputException("detected options are inconsistent (" + e.getMessage() + "); pass --config");
    }
  }

  /** A detected segmentor: the backbone (as {@link #detectShapes} finds it) and its UPerNet heads. */
  public record SegmentationDetection(Detection backbone, UperNetConfig head) {
    public String describe() {
      return "segmentation: " + backbone.describe() + " backbone + UPerNet (channels " + head.channels() + ", "
          + head.numClasses() + " classes" + (head.hasAuxiliaryHead() ? ", auxiliary FCN head " + head.auxChannels()
          + " channels on output " + head.auxInIndex() : ", no auxiliary head") + ")";
    }
  }

  /** mmseg's key prefixes of a segmentor's state_dict. */
  public static final String BACKBONE = "backbone.", DECODE_HEAD = "decode_head.", AUXILIARY_HEAD = "auxiliary_head.";

  /** Whether the keys are an mmseg segmentor's (a decode head's classifier is there). */
  public static boolean isSegmentation(java.util.Set<String> keys) {
    return keys.contains(DECODE_HEAD + "conv_seg.weight");
  }

  public static SegmentationDetection detectSegmentation(Map<String, HostTensor> stateDict) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    stateDict.forEach((k, v) -> shapes.put(k, v.shape()));
    return detectSegmentationShapes(shapes);
  }

  /**
   * Reads an mmseg ResTv2 + UPerHead (+ FCNHead) checkpoint's config off its keys and shapes: the backbone
   * from the {@code backbone.} keys, the head width and class count from {@code decode_head.conv_seg},
   * the auxiliary head from {@code auxiliary_head.convs.0} (its input width tells which backbone output it
   * reads). The PPM's pool scales leave no trace but their count: four modules are the configs' (1, 2, 3, 6).
   */
  public static SegmentationDetection detectSegmentationShapes(Map<String, long[]> s) {
    if (!isSegmentation(s.keySet())) {
      throw new BadInputException("not a segmentation checkpoint: no " + DECODE_HEAD + "conv_seg.weight key");
    }
    Map<String, long[]> bb = new LinkedHashMap<>();
    s.forEach((k, v) -> {
      if (k.startsWith(BACKBONE)) bb.put(k.substring(BACKBONE.length()), v);
    });
    if (bb.isEmpty()) throw new BadInputException("cannot detect the segmentation model: no " + BACKBONE + "* keys");
    Detection backbone = detectShapes(bb);
    long[] seg = need(s, DECODE_HEAD + "conv_seg.weight", 4);
    int channels = (int) seg[1], classes = (int) seg[0];
    int modules = 0;
    while (s.containsKey(DECODE_HEAD + "psp_modules." + modules + ".1.conv.weight")) modules++;
    if (modules != UperNetConfig.DEFAULT_POOL_SCALES.size()) {
      throw new BadInputException("cannot detect the PPM's pool scales: the checkpoint has " + modules
          + " psp_modules, the official configs have 4 (scales 1, 2, 3, 6); pass --config");
    }
    int auxChannels = 0, auxIn = 2;
    long[] aux = s.get(AUXILIARY_HEAD + "convs.0.conv.weight");
    if (aux != null) {
      if (aux.length != 4) throw new BadInputException("cannot detect the auxiliary head: " + AUXILIARY_HEAD + "convs.0.conv.weight has rank " + aux.length);
      auxChannels = (int) aux[0];
      List<Integer> dims = backbone.config().embedDims();
      int matches = 0;
      for (int i = 0; i < dims.size(); i++) {
        if (dims.get(i) == aux[1]) {
          matches++;
          if (matches == 1 || i == 2) auxIn = i;
        }
      }
      if (matches == 0) {
        throw new BadInputException("cannot detect the auxiliary head: its input width " + aux[1]
            + " is none of the backbone's widths " + dims);
      }
    }
    UperNetConfig head = new UperNetConfig(channels, UperNetConfig.DEFAULT_POOL_SCALES, classes, auxChannels, auxIn);
    try {
      head.validate();
    } catch (BadInputException e) {
      throw new BadInputException("detected head config is inconsistent (" + e.getMessage() + "); pass --config");
    }
    return new SegmentationDetection(backbone, head);
  }

  /** detectron2's key prefix of a detector's backbone (convert_to_d2.py, the d2 ResT / ResTv2 backbones). */
  public static final String D2_BACKBONE = "backbone.bottom_up.";

  /**
   * A detected detectron2 backbone: the network (its classes 0), the {@link BackboneStyle} of its family,
   * which per-output norms the checkpoint holds (missing ones, as in a classification checkpoint converted
   * by convert_to_d2.py, start fresh: weight 1, bias 0, as detectron2 initialises them), and the keys a
   * backbone ignores (the detector's FPN and heads, a classification head).
   */
  public record BackboneDetection(Detection backbone, BackboneStyle style, String keyPrefix, List<String> missingNorms,
      List<String> ignoredKeys) {
    public String describe() {
      return "detectron2 backbone: " + backbone.describe() + " (" + (style == BackboneStyle.D2_V1
          ? "ResT d2 backbone: norm1..3 in the trunk, the final norm on stage 4" : "ResTv2 d2 backbone: side norms norm_1..4")
          + ")";
    }

    /** The variables that may stay fresh (the output norms) and the keys to ignore, for a strict load otherwise. */
    public RestModel.LoadOptions loadOptions() {
      Pattern drop = ignoredKeys.isEmpty() ? null
          : Pattern.compile(ignoredKeys.stream().map(Pattern::quote).collect(java.util.stream.Collectors.joining("|")));
      StringBuilder norms = new StringBuilder();
      for (int i = 0; i < RestConfig.NUM_STAGES; i++) {
        if (norms.length() > 0) norms.append('|');
        norms.append(Pattern.quote(keyPrefix + style.normPrefix(i) + ".")).append("(weight|bias)");
      }
      return new RestModel.LoadOptions(drop, Pattern.compile(norms.toString()));
    }
  }

  /** Whether the keys are a detectron2 model's with a ResT backbone ({@code backbone.bottom_up.stem...}). */
  public static boolean isDetectron2(java.util.Set<String> keys) {
    return keys.contains(D2_BACKBONE + "stem.proj.0.weight") || keys.contains(D2_BACKBONE + "stem.conv1.weight");
  }

  public static BackboneDetection detectDetectron2(Map<String, HostTensor> stateDict) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    stateDict.forEach((k, v) -> shapes.put(k, v.shape()));
    return detectDetectron2Shapes(shapes);
  }

  /** Reads a detectron2 ResT / ResTv2 backbone's config off the {@code backbone.bottom_up.} keys. */
  public static BackboneDetection detectDetectron2Shapes(Map<String, long[]> s) {
    Map<String, long[]> bb = new LinkedHashMap<>();
    s.forEach((k, v) -> {
      if (k.startsWith(D2_BACKBONE)) bb.put(k.substring(D2_BACKBONE.length()), v);
    });
    if (bb.isEmpty()) throw new BadInputException("not a detectron2 ResT checkpoint: no " + D2_BACKBONE + "* keys");
    Detection d = detectShapes(bb);
    RestConfig config = d.config().withNumClasses(0);
    Detection backbone = new Detection(config, d.variant(), d.widthDivisor(), d.explanation());
    BackboneStyle style = config.family() == Family.V1 ? BackboneStyle.D2_V1 : BackboneStyle.D2_V2;
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < RestConfig.NUM_STAGES; i++) {
      String w = style.normPrefix(i) + ".weight";
      if (!bb.containsKey(w)) missing.add(D2_BACKBONE + style.normPrefix(i));
    }
    List<String> ignored = new ArrayList<>();
    for (String k : s.keySet()) {
      boolean backboneKey = k.startsWith(D2_BACKBONE);
      String rest = backboneKey ? k.substring(D2_BACKBONE.length()) : k;
      if (!backboneKey || rest.startsWith("head.") || (style == BackboneStyle.D2_V2 && rest.startsWith("norm."))) {
        ignored.add(k);
      }
    }
    return new BackboneDetection(backbone, style, D2_BACKBONE, List.copyOf(missing), List.copyOf(ignored));
  }

  /** d such that full[i] == d * actual[i] for every i, or null. */
  private static Integer wholeDivisor(List<Integer> full, List<Integer> actual) {
    if (actual.get(0) == 0 || full.get(0) % actual.get(0) != 0) return null;
    int d = full.get(0) / actual.get(0);
    for (int i = 0; i < full.size(); i++) if ((long) actual.get(i) * d != full.get(i)) return null;
    return d;
  }

  private static long[] need(Map<String, long[]> s, String key, int rank) {
    long[] v = s.get(key);
    if (v == null) throw new BadInputException("cannot detect the model: key " + key + " is missing; pass --variant or --config");
    if (v.length != rank) throw new BadInputException("cannot detect the model: " + key + " has rank " + v.length + ", expected " + rank);
    return v;
  }
}
