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

  /** An option value with its config spelling. */
  interface Named {
    String id();
  }

  /** {@code reduction}: how K/V tokens are spatially reduced when sr > 1 (kernel sr+1, stride sr, padding sr/2). */
  public enum Reduction implements Named {
    /** Depthwise conv + LayerNorm (official). */
    DWCONV("dwconv"),
    /** Average pooling (zero padding counted, as nn.AvgPool2d's default) + LayerNorm. */
    AVG("avg"),
    /** Max pooling (padding never wins, as nn.MaxPool2d) + LayerNorm. */
    MAX("max");

    private final String id;

    Reduction(String id) {
      this.id = id;
    }

    @JsonValue
    @Override
    public String id() {
      return id;
    }
  }

  /** {@code position_encoding}: after the stem and each patch embedding. */
  public enum PositionEncoding implements Named {
    /** Pixel attention x · σ(dwconv3×3(x)) (official, {@code pos.pa_conv}). */
    PA("pa"),
    /** Group linear x + dwconv3×3(x) (the official ResT code's GL, {@code pos.gl_conv}). */
    GL("gl"),
    /** No position encoding (the official {@code with_pos=False}). */
    NONE("none");

    private final String id;

    PositionEncoding(String id) {
      this.id = id;
    }

    @JsonValue
    @Override
    public String id() {
      return id;
    }
  }

  /** {@code upsample} (ResTv2): how the reduced grid is brought back to the tokens' resolution. */
  public enum Upsample implements Named {
    /** dwconv3×3 C → sr²·C, PixelShuffle(sr), LayerNorm (official). */
    PIXEL_SHUFFLE("pixel-shuffle"),
    /** dwconv3×3 C → C, nearest ×sr, LayerNorm. */
    NEAREST("nearest"),
    /** dwconv3×3 C → C, bilinear ×sr (align_corners=False), LayerNorm. */
    BILINEAR("bilinear"),
    /** No upsample branch (EMSA without it). */
    NONE("none");

    private final String id;

    Upsample(String id) {
      this.id = id;
    }

    @JsonValue
    @Override
    public String id() {
      return id;
    }
  }

  /** {@code upsample_target} (ResTv2): what the upsample branch starts from. */
  public enum UpsampleTarget implements Named {
    /** The reduced tokens (after the reduction's LayerNorm; the normed block input when sr = 1). */
    X("x"),
    /** The keys, channels ordered (head, head_dim) as V's. */
    K("k"),
    /** The values (official). */
    V("v");

    private final String id;

    UpsampleTarget(String id) {
      this.id = id;
    }

    @JsonValue
    @Override
    public String id() {
      return id;
    }
  }

  /** {@code window_style} (ResTv2 §4.4): where attention is restricted to windows. */
  public enum WindowStyle implements Named {
    /** Every block attends globally (the plain model). */
    GLOBAL("global"),
    /** Every block attends within windows. */
    WIN("win"),
    /** As win, plus a residual depthwise conv3×3 after the last block of each stage ({@code cwin{N}}). */
    CWIN("cwin"),
    /** Windows in every block but the last of each stage, which attends globally. */
    HWIN("hwin");

    private final String id;

    WindowStyle(String id) {
      this.id = id;
    }

    @JsonValue
    @Override
    public String id() {
      return id;
    }
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
