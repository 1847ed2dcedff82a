package io.resttf.training;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Layer-wise learning-rate decay as the official {@code optim_factory.get_layer_id_for_rest} and
 * {@code LayerDecayValueAssigner} define it (after BEiT): with L = sum(depths) + 4, the stem is layer 0, block i of
 * stage 1 is i + 1, the patch embedding before stage s and stage s's blocks follow (one id for the embedding, then
 * one per block), and everything else (the final norm, the head) is layer L; a parameter's lr is scaled by
 * {@code decay^(L − layer)}. ResT v1's {@code patch_embed_N} keys take the ids of ResTv2's {@code patch_N} (the
 * official function reads the number after the first '_', which for v1's names is "embed" and fails).
 */
public final class LayerDecay {
  private static final Pattern PATCH = Pattern.compile("patch(?:_embed)?_(\\d)\\..*");
  private static final Pattern STAGE = Pattern.compile("stage(\\d)\\.(\\d+)\\..*");

  private LayerDecay() {}

  /** The official layer id of an official key. */
  public static int layerId(String key, List<Integer> depths) {
    int d0 = depths.get(0), d01 = d0 + depths.get(1), d012 = d01 + depths.get(2);
    if (key.startsWith("stem") || key.equals("cls_token") || key.equals("pos_embed")) return 0;
    Matcher p = PATCH.matcher(key);
    if (p.matches()) {
      return switch (Integer.parseInt(p.group(1))) {
        case 2 -> d0 + 1;
        case 3 -> d01 + 2;
        default -> d012 + 3;
      };
    }
    Matcher s = STAGE.matcher(key);
    if (s.matches()) {
      int block = Integer.parseInt(s.group(2));
      return switch (Integer.parseInt(s.group(1))) {
        case 1 -> block + 1;
        case 2 -> d0 + block + 2;
        case 3 -> d01 + block + 3;
        default -> d012 + block + 4;
      };
    }
    return layers(depths);
  }

  /** L = sum(depths) + 4: the id of the head and the final norm. */
  public static int layers(List<Integer> depths) {
    return depths.stream().mapToInt(Integer::intValue).sum() + 4;
  }

  /** The lr scale of an official key: {@code decay^(L − layer)}; exactly 1 when {@code decay} is 1. */
  public static double scale(String key, List<Integer> depths, double decay) {
    if (decay == 1.0) return 1.0;
    return Math.pow(decay, layers(depths) - layerId(key, depths));
  }

  /** One parameter group as the official optimizer prints it: layer id, lr scale, and how many parameters. */
  public record Group(int layer, double lrScale, int parameters) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "layer %d ×%.4g (%d)", layer, lrScale, parameters);
    }
  }

  /** The groups of {@code keys} in layer order. */
  public static List<Group> groups(List<String> keys, List<Integer> depths, double decay) {
    Map<Integer, Integer> count = new java.util.TreeMap<>();
    for (String k : keys) count.merge(layerId(k, depths), 1, Integer::sum);
    List<Group> out = new ArrayList<>();
    count.forEach((layer, n) -> out.add(new Group(layer, decay == 1.0 ? 1.0 : Math.pow(decay, layers(depths) - layer), n)));
    return out;
  }
}
