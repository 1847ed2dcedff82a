package io.resttf.training;

import io.resttf.tensor.BadInputException;
import java.util.List;

/**
 * The parts of a model that {@code --freeze} names: {@code stem}; {@code stage1} … {@code stage4}
 * (each stage's blocks and the patch embedding that leads into it); {@code norm} (the final norm);
 * {@code head}.
 */
public final class FreezeGroups {
  private FreezeGroups() {}

  public static final List<String> NAMES = List.of("stem", "stage1", "stage2", "stage3", "stage4", "norm", "head");

  static void check(String group) {
    if (!NAMES.contains(group)) {
      throw new BadInputException("--freeze: unknown part \"" + group + "\"; known: " + String.join(", ", NAMES));
    }
  }

  /** Whether the official key belongs to the group. */
  public static boolean contains(String group, String key) {
    switch (group) {
      case "stem":
        return key.startsWith("stem.");
      case "norm":
        return key.startsWith("norm.");
      case "head":
        return key.startsWith("head.");
      default: {
        int s = group.charAt(group.length() - 1) - '0';
        return key.startsWith("stage" + s + ".") || key.startsWith("patch_embed_" + s + ".") || key.startsWith("patch_" + s + ".");
      }
    }
  }
}
