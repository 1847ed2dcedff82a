package io.resttf.model;

import io.resttf.tensor.BadInputException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The eight released models, by their official names (the registry of timm-style variant names). */
public final class Variants {
  private static final Map<String, RestConfig> REGISTRY = new LinkedHashMap<>();

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
    return REGISTRY.containsKey(name);
  }

  /** The released config of {@code name}; a {@link BadInputException} listing the known names otherwise. */
  public static RestConfig get(String name) {
    RestConfig c = REGISTRY.get(name);
    if (c == null) {
      throw new BadInputException("unknown variant \"" + name + "\"; known: " + String.join(", ", REGISTRY.keySet()));
    }
    return c;
  }
}
