package io.resttf.model;

import io.resttf.tensor.BadInputException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The eight released models, by their official names (the registry of timm-style variant names), and the
 * papers' ablation rows as named variants of them ({@link #ablations}): a released model with one
 * design-space option changed ({@link DesignSpace}).
 */
public final class Variants {
  private static final Map<String, RestConfig> REGISTRY = new LinkedHashMap<>();
  private static final Map<String, Ablation> ABLATIONS = new LinkedHashMap<>();

  /** A named ablation row: the released {@code base} with one option changed, and what that is. */
  public record Ablation(String name, String base, RestConfig config, String change) {}

  static {
    List<Integer> sr = List.of(8, 4, 2, 1);
    List<Integer> mlp = List.of(4, 4, 4, 4);
    List<Integer> heads = List.of(1, 2, 4, 8);
    List<Integer> small = List.of(64, 128, 256, 512);
    List<Integer> wide = List.of(96, 192, 384, 768);
    v1("rest_lite", small, heads, List.of(2, 2, 2, 2), sr, mlp);
    v1("rest_small", small, heads, List.of(2, 2, 6, 2), sr, mlp);
    v1("rest_base", wide, heads, List.of(2, 2, 6, 2), sr, mlp);
    v1("rest_large", wide, heads, List.of(2, 2, 18, 2), sr, mlp);
    v2("restv2_tiny", wide, heads, List.of(1, 2, 6, 2), sr, mlp);
    v2("restv2_small", wide, heads, List.of(1, 2, 12, 2), sr, mlp);
    v2("restv2_base", wide, heads, List.of(1, 3, 16, 3), sr, mlp);
    v2("restv2_large", List.of(128, 256, 512, 1024), List.of(2, 4, 8, 16), List.of(2, 3, 16, 2), sr, mlp);

    // ResTv2 paper §3, Table 3 (ResTv2-T): upsample strategy, upsample target, head interaction, the ConvNet variant
    RestConfig t = REGISTRY.get("restv2_tiny");
    ablation("restv2_tiny-nearest", "restv2_tiny", design(t, null, null, DesignSpace.Upsample.NEAREST, null, true),
        "upsample nearest (dwconv3x3 C->C, nearest x sr)");
    ablation("restv2_tiny-bilinear", "restv2_tiny", design(t, null, null, DesignSpace.Upsample.BILINEAR, null, true),
        "upsample bilinear (dwconv3x3 C->C, bilinear x sr)");
    ablation("restv2_tiny-no-upsample", "restv2_tiny", design(t, null, null, DesignSpace.Upsample.NONE, null, true),
        "no upsample branch (EMSA alone)");
    ablation("restv2_tiny-upsample-x", "restv2_tiny", design(t, null, null, null, DesignSpace.UpsampleTarget.X, true),
        "upsample the reduced tokens x instead of v");
    ablation("restv2_tiny-upsample-k", "restv2_tiny", design(t, null, null, null, DesignSpace.UpsampleTarget.K, true),
        "upsample k instead of v");
    ablation("restv2_tiny-head-interaction", "restv2_tiny", t.withApplyTransform(true),
        "multi-head interaction (ResT's transform) switched on");
    ablation("restv2_tiny-convnet", "restv2_tiny", design(t, null, null, null, null, false),
        "ConvNet: the reduce-upsample branch alone, no attention");
    // ResTv2 paper §4.4, Table 4: window styles (default windows 64/32/16/8 tokens)
    for (DesignSpace.WindowStyle w : List.of(DesignSpace.WindowStyle.WIN, DesignSpace.WindowStyle.CWIN,
        DesignSpace.WindowStyle.HWIN)) {
      ablation("restv2_tiny-" + w.id(), "restv2_tiny", t.withWindows(w, RestConfig.DEFAULT_WINDOW_SIZES),
          "window style " + w.id() + " (windows 64/32/16/8)");
    }
    // ResT paper (ResT-Lite): spatial reduction, position encoding, head interaction
    RestConfig l = REGISTRY.get("rest_lite");
    ablation("rest_lite-avg-reduction", "rest_lite", design(l, DesignSpace.Reduction.AVG, null, null, null, true),
        "K/V reduced by average pooling");
    ablation("rest_lite-max-reduction", "rest_lite", design(l, DesignSpace.Reduction.MAX, null, null, null, true),
        "K/V reduced by max pooling");
    ablation("rest_lite-gl", "rest_lite", design(l, null, DesignSpace.PositionEncoding.GL, null, null, true),
        "position encoding GL (x + dwconv3x3 x)");
    ablation("rest_lite-no-pe", "rest_lite", design(l, null, DesignSpace.PositionEncoding.NONE, null, null, true),
        "no position encoding");
    ablation("rest_lite-no-interaction", "rest_lite", l.withApplyTransform(false), "no multi-head interaction");
  }

  private static RestConfig design(RestConfig c, DesignSpace.Reduction r, DesignSpace.PositionEncoding p,
      DesignSpace.Upsample u, DesignSpace.UpsampleTarget t, boolean attention) {
    return c.withDesign(r != null ? r : c.reduction(), p != null ? p : c.positionEncoding(), u != null ? u : c.upsample(),
        t != null ? t : c.upsampleTarget(), attention);
  }

  private static void ablation(String name, String base, RestConfig config, String change) {
    ABLATIONS.put(name, new Ablation(name, base, config.validate(), change));
  }

  /** The papers' ablation rows, in the order summary prints them. */
  public static List<Ablation> ablations() {
    return List.copyOf(ABLATIONS.values());
  }

  private Variants() {}

  private static void v1(String name, List<Integer> dims, List<Integer> heads, List<Integer> depths,
      List<Integer> sr, List<Integer> mlp) {
    REGISTRY.put(name, RestConfig.of(Family.V1, dims, heads, depths, sr, mlp, 1000, 3));
  }

  private static void v2(String name, List<Integer> dims, List<Integer> heads, List<Integer> depths,
      List<Integer> sr, List<Integer> mlp) {
    REGISTRY.put(name, RestConfig.of(Family.V2, dims, heads, depths, sr, mlp, 1000, 3));
  }

  public static List<String> names() {
    return List.copyOf(REGISTRY.keySet());
  }

  public static boolean exists(String name) {
    return REGISTRY.containsKey(name) || ABLATIONS.containsKey(name);
  }

  /**
   * The released config of {@code name}, or an ablation row's; a {@link BadInputException} listing the known
   * names otherwise.
   */
  public static RestConfig get(String name) {
    RestConfig c = REGISTRY.get(name);
    if (c == null && ABLATIONS.containsKey(name)) c = ABLATIONS.get(name).config();
    if (c == null) {
      throw new BadInputException("unknown variant \"" + name + "\"; known: " + String.join(", ", REGISTRY.keySet())
          + " (and the ablation rows summary --ablations lists)");
    }
    return c;
  }
}
