package io.resttf.model;

import com.fasterxml.jackson.annotation.JsonValue;
import io.resttf.tensor.BadInputException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The switches of the papers' design space (ResT §3–4, ResTv2 §3–4.4), each a config key with the
 * official model as its default. Where the official code defines an option (dwconv reduction, PA and GL
 * position encodings, pixel-shuffle upsampling of V, head interaction) it is the definition; the others
 * follow the papers' descriptions as written down in bench/pytorch/design_reference.py, their float64
 * reference.
 */
public final class DesignSpace {
  private DesignSpace() {}

  /**
   * An option value with its config spelling: the constant's name in lower case, '_' as '-' (PIXEL_SHUFFLE →
   * pixel-shuffle).
   */
  public interface Named {
    String name();

    @JsonValue
    default String id() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /** {@code reduction}: how K/V tokens are spatially reduced when sr > 1 (kernel sr+1, stride sr, padding sr/2). */
  public enum Reduction implements Named {
    /** Depthwise conv + LayerNorm (official). */
    DWCONV,
    /** Average pooling (zero padding counted, as nn.AvgPool2d's default) + LayerNorm. */
    AVG,
    /** Max pooling (padding never wins, as nn.MaxPool2d) + LayerNorm. */
    MAX
  }

  /** {@code position_encoding}: after the stem and each patch embedding. */
  public enum PositionEncoding implements Named {
    /** Pixel attention x · σ(dwconv3×3(x)) (official, {@code pos.pa_conv}). */
    PA,
    /** Group linear x + dwconv3×3(x) (the official ResT code's GL, {@code pos.gl_conv}). */
    GL,
    /** No position encoding (the official {@code with_pos=False}). */
    NONE
  }

  /** {@code upsample} (ResTv2): how the reduced grid is brought back to the tokens' resolution. */
  public enum Upsample implements Named {
    /** dwconv3×3 C → sr²·C, PixelShuffle(sr), LayerNorm (official). */
    PIXEL_SHUFFLE,
    /** dwconv3×3 C → C, nearest ×sr, LayerNorm. */
    NEAREST,
    /** dwconv3×3 C → C, bilinear ×sr (align_corners=False), LayerNorm. */
    BILINEAR,
    /** No upsample branch (EMSA without it). */
    NONE
  }

  /** {@code upsample_target} (ResTv2): what the upsample branch starts from. */
  public enum UpsampleTarget implements Named {
    /** The reduced tokens (after the reduction's LayerNorm; the normed block input when sr = 1). */
    X,
    /** The keys, channels ordered (head, head_dim) as V's. */
    K,
    /** The values (official). */
    V
  }

  /** {@code window_style} (ResTv2 §4.4): where attention is restricted to windows. */
  public enum WindowStyle implements Named {
    /** Every block attends globally (the plain model). */
    GLOBAL,
    /** Every block attends within windows. */
    WIN,
    /** As win, plus a residual depthwise conv3×3 after the last block of each stage ({@code cwin{N}}). */
    CWIN,
    /** Windows in every block but the last of each stage, which attends globally. */
    HWIN
  }

  /** The constant of {@code type} spelled {@code s}; one line naming the key and the valid values otherwise. */
  static <E extends Enum<E> & Named> E parse(Class<E> type, String key, String s) {
    for (E e : type.getEnumConstants()) if (e.id().equals(s)) return e;
    throw new BadInputException(key + " must be one of " + ids(type) + ", got \"" + s + "\"");
  }

  static <E extends Enum<E> & Named> String ids(Class<E> type) {
    return Arrays.stream(type.getEnumConstants()).map(e -> "\"" + e.id() + "\"").collect(Collectors.joining(", "));
  }
}
