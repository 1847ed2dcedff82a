package io.resttf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.tensor.BadInputException;
import java.util.ArrayList;
import java.util.List;

/**
 * The evaluation preprocessing that the {@code classify_images} signature runs in-graph on each
 * image: decode (JPEG, PNG, GIF, BMP; forced to {@code in_chans} channels), resize the shorter side
 * to {@link #resizeSize()} with antialiased bicubic interpolation (as PIL / torchvision
 * {@code Resize(resize_size, BICUBIC)}), centre crop {@link #size()} x {@link #size()}, scale to
 * then optionally zero-pad {@link #pad()} pixels on every side and upsample by {@link #upsample()} with
 * nearest neighbour (small-image models such as the Fashion-MNIST one: 28 → pad 2 → 32 → ×2 → 64),
 * scale to [0, 1], normalise with {@link #mean()} / {@link #std()} per channel. The network sees
 * {@link #inputSize()} = (size + 2·pad)·upsample pixels a side.
 *
 * @param size       side of the square crop the network sees (a multiple of 32, at least 32)
 * @param cropPct    size / shorter side after resizing (official: 0.875, i.e. 224 of 256)
 * @param resizeSize shorter side after resizing: {@code floor(size / cropPct)} as the official
 *                   evaluation code computes it ({@code int((256 / 224) * input_size)})
 * @param mean       per-channel mean in [0, 1] units, one entry per input channel
 * @param std        per-channel standard deviation, one entry per input channel
 * @param pad        pixels of value 0 added on every side of the raw crop (0 = none)
 * @param upsample   nearest-neighbour upsampling factor after padding (1 = none)
 */
public record Preprocessing(int size, double cropPct, int resizeSize, List<Double> mean, List<Double> std,
    int pad, int upsample) {

  /** timm / torchvision IMAGENET_DEFAULT_MEAN and _STD. */
  public static final List<Double> IMAGENET_MEAN = List.of(0.485, 0.456, 0.406);
  public static final List<Double> IMAGENET_STD = List.of(0.229, 0.224, 0.225);
  /** For one-channel models without their own statistics: the channel average of the ImageNet values. */
  public static final List<Double> IMAGENET_GRAY_MEAN = List.of(0.449);
  public static final List<Double> IMAGENET_GRAY_STD = List.of(0.226);

  public static final int DEFAULT_SIZE = 224;
  public static final double DEFAULT_CROP_PCT = 0.875;
  /** The only interpolation the graph implements (named as in the metadata). */
  public static final String INTERPOLATION = "bicubic";

  public Preprocessing {
    mean = List.copyOf(mean);
    std = List.copyOf(std);
  }

  /** {@code size} / {@code cropPct} with the resize side derived as the official code does. */
  public static Preprocessing of(int size, double cropPct, List<Double> mean, List<Double> std) {
    return new Preprocessing(size, cropPct, resizeSideFor(size, cropPct), mean, std, 0, 1);
  }

  /** Side of the square the network sees: (size + 2·pad)·upsample. */
  public int inputSize() {
    return (size + 2 * pad) * upsample;
  }

  /** A copy that zero-pads {@code pad} pixels a side and upsamples by {@code factor} (nearest) after the crop. */
  public Preprocessing withPadAndUpsample(int padPixels, int factor) {
    return new Preprocessing(size, cropPct, resizeSize, mean, std, padPixels, factor);
  }

  /** The official ImageNet evaluation transform (224 crop of 256, ImageNet mean/std) for {@code inChans} channels. */
  public static Preprocessing imagenet(int inChans) {
    return switch (inChans) {
      case 3 -> of(DEFAULT_SIZE, DEFAULT_CROP_PCT, IMAGENET_MEAN, IMAGENET_STD);
      case 1 -> of(DEFAULT_SIZE, DEFAULT_CROP_PCT, IMAGENET_GRAY_MEAN, IMAGENET_GRAY_STD);
      default -> throw new BadInputException(
          "no default preprocessing for in_chans " + inChans + "; images can be decoded to 1 or 3 channels only");
    };
  }

  /** A copy at another crop size, same crop_pct / mean / std. */
  public Preprocessing withSize(int newSize) {
    return of(newSize, cropPct, mean, std).withPadAndUpsample(pad, upsample);
  }

  /** {@code floor(size / cropPct)}, guarded against float error (224 / 0.875 = 256). */
  static int resizeSideFor(int size, double cropPct) {
    if (!(cropPct > 0 && cropPct <= 1)) {
      throw new BadInputException("preprocessing: crop_pct must be in (0, 1], got " + cropPct);
    }
    return (int) Math.floor(size / cropPct + 1e-9);
  }

  /** Checks this against the model; a {@link BadInputException} naming the first problem. */
  public Preprocessing validate(RestConfig config) {
    int c = config.inChans();
    if (c != 1 && c != 3) {
      throw new BadInputException("preprocessing: images can be decoded to 1 or 3 channels, the model takes " + c);
    }
    if (pad < 0 || upsample < 1 || size < 1) {
      throw new BadInputException("preprocessing: size >= 1, pad >= 0 and upsample >= 1 needed, got size " + size
          + ", pad " + pad + ", upsample " + upsample);
    }
    int in = inputSize();
    if (in < RestConfig.STRIDE || in % RestConfig.STRIDE != 0) {
      throw new BadInputException("preprocessing: the network input (size + 2 pad) * upsample = " + in
          + " must be a multiple of 32 and at least 32");
    }
    if (!(cropPct > 0 && cropPct <= 1)) {
      throw new BadInputException("preprocessing: crop_pct must be in (0, 1], got " + cropPct);
    }
    if (resizeSize < size) {
      throw new BadInputException("preprocessing: resize_size " + resizeSize + " is smaller than the crop size " + size);
    }
    if (mean.size() != c || std.size() != c) {
      throw new BadInputException("preprocessing: mean and std need " + c + " entries (one per input channel), got "
          + mean.size() + " and " + std.size());
    }
    for (Double m : mean) {
      if (m == null || !Double.isFinite(m)) throw new BadInputException("preprocessing: mean " + mean + " must be finite numbers");
    }
    for (Double s : std) {
      if (s == null || !(s > 0) || !Double.isFinite(s)) {
        throw new BadInputException("preprocessing: std " + std + " must be positive numbers");
      }
    }
    return this;
  }

  public ObjectNode toJsonNode(ObjectMapper json) {
    ObjectNode n = json.createObjectNode();
    n.put("size", size);
    n.put("crop_pct", cropPct);
    n.put("resize_size", resizeSize);
    n.put("resize", "shorter side to resize_size, longer side floor(resize_size * long / short) (torchvision Resize(int))");
    n.put("crop", "centre size x size, offsets round((resized - size) / 2) half to even (torchvision CenterCrop)");
    n.put("interpolation", INTERPOLATION);
    n.put("interpolation_detail", "antialiased Keys cubic (a = -0.5), horizontal then vertical pass, each rounded to"
        + " uint8 as PIL's Image.resize(BICUBIC) does; TF op ScaleAndTranslate(kernel_type=keyscubic, antialias=true)");
    n.put("pad", pad);
    n.put("upsample", upsample);
    n.put("input_size", inputSize());
    if (pad > 0 || upsample > 1) {
      n.put("pad_upsample", "after the crop: zero-pad pad pixels a side (raw value 0), then nearest-neighbour x upsample");
    }
    n.put("scale", "x / 255");
    ArrayNode m = n.putArray("mean");
    mean.forEach(m::add);
    ArrayNode s = n.putArray("std");
    std.forEach(s::add);
    n.put("color", "decoded to in_chans channels: 3 = RGB (grayscale replicated, alpha dropped),"
        + " 1 = luma (19595 R + 38470 G + 7471 B + 32768) >> 16 as PIL convert('L')");
    n.put("layout", "NHWC float32");
    return n;
  }

  /** Reads the {@code preprocessing} object of the metadata (size, crop_pct, mean, std; resize_size optional). */
  public static Preprocessing fromJson(JsonNode n, String source) {
    if (n == null || !n.isObject()) throw new BadInputException(source + ": preprocessing must be a JSON object");
    if (!n.path("size").canConvertToInt()) throw new BadInputException(source + ": preprocessing.size must be an integer");
    int size = n.get("size").asInt();
    double cropPct = n.has("crop_pct") ? n.get("crop_pct").asDouble() : DEFAULT_CROP_PCT;
    int resize = n.has("resize_size") ? n.get("resize_size").asInt() : resizeSideFor(size, cropPct);
    return new Preprocessing(size, cropPct, resize, doubles(n.get("mean"), source + ": preprocessing.mean"),
        doubles(n.get("std"), source + ": preprocessing.std"), n.path("pad").asInt(0), n.path("upsample").asInt(1));
  }

  private static List<Double> doubles(JsonNode a, String what) {
    if (a == null || !a.isArray()) throw new BadInputException(what + " must be a list of numbers");
    List<Double> out = new ArrayList<>();
    for (JsonNode x : a) {
      if (!x.isNumber()) throw new BadInputException(what + " must be a list of numbers");
      out.add(x.asDouble());
    }
    return out;
  }
}
