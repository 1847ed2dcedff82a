package io.resttf.training.data;

import io.resttf.model.Preprocessing;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Turns decoded images into network input (NHWC float32, normalised), in Java, on the loader threads.
 *
 * <p>Evaluation: the model's {@link Preprocessing} (what its SavedModel's {@code classify_images} does
 * in-graph): resize the shorter side to {@code resize_size} (antialiased Keys cubic, a = −0.5, each pass
 * rounded to 8 bits as PIL does), centre crop {@code size} (torchvision's offsets), zero-pad
 * {@code pad} pixels, nearest-neighbour upsampling by {@code upsample}, x/255, (x − mean)/std. A 28×28
 * Fashion-MNIST image under the Fashion preprocessing (size 28, crop_pct 1, pad 2, ×2) is exactly the
 * official pipeline: the resize and crop are the identity.
 *
 * <p>Training: torchvision's {@code RandomResizedCrop(size, scale=(min, 1), ratio=(3/4, 4/3))} (bicubic)
 * then a horizontal flip with probability ½, or only the flip, then pad / upsample / normalise; all
 * draws from the generator passed in.
 */
public final class ImagePipeline {
  private final Preprocessing p;
  private final int channels;
  private final float[] mean;
  private final float[] std;

  public ImagePipeline(Preprocessing p, int channels) {
    this.p = p;
    this.channels = channels;
    if (p.mean().size() != channels || p.std().size() != channels) {
      throw new IllegalArgumentException("preprocessing has " + p.mean().size() + " channels, the model " + channels);
    }
    mean = new float[channels];
    std = new float[channels];
    for (int c = 0; c < channels; c++) {
      mean[c] = p.mean().get(c).floatValue();
      std[c] = p.std().get(c).floatValue();
    }
  }

  public Preprocessing preprocessing() {
    return p;
  }

  /** Side of the square the network sees. */
  public int inputSize() {
    return p.inputSize();
  }

  public int channels() {
    return channels;
  }

  /** Floats per sample. */
  public int sampleSize() {
    return inputSize() * inputSize() * channels;
  }

  /** Evaluation transform into {@code out} at {@code offset}. */
  public void eval(Image img, float[] out, int offset) {
    img = toChannels(img);
    int shorter = Math.min(img.width(), img.height());
    int rw, rh;
    if (img.width() <= img.height()) {
      rw = p.resizeSize();
      rh = (int) ((long) p.resizeSize() * img.height() / img.width());
    } else {
      rh = p.resizeSize();
      rw = (int) ((long) p.resizeSize() * img.width() / img.height());
    }
    Image resized = shorter == p.resizeSize() && rw == img.width() && rh == img.height()
        ? img : Resample.resize(img, rw, rh, 0, 0, img.width(), img.height());
    // torchvision CenterCrop: offsets int(round((dim - size) / 2.0)), Python's round (half to even)
    int top = (int) Math.rint((rh - p.size()) / 2.0), left = (int) Math.rint((rw - p.size()) / 2.0);
    finish(resized, left, top, false, out, offset);
  }

  /**
   * Training transform with RandAugment (timm's order: crop, flip, RandAugment, then pad / upsample / normalise);
   * {@code ra} null is {@link #train(Image, SplittableRandom, boolean, double, boolean, float[], int)}. Its draws come
   * from {@code raRng}, so the crop and flip draw what they draw without it.
   */
  public void train(Image img, SplittableRandom rng, boolean rrc, double minScale, boolean flip,
      io.resttf.training.augment.RandAugment ra, SplittableRandom raRng, float[] out, int offset) {
    if (ra == null) {
      train(img, rng, rrc, minScale, flip, out, offset);
      return;
    }
    img = toChannels(img);
    Image crop;
    if (rrc) {
      double[] box = randomResizedCropBox(img.width(), img.height(), minScale, rng);
      crop = Resample.resize(img, p.size(), p.size(), box[0], box[1], box[0] + box[2], box[1] + box[3]);
    } else {
      crop = evalCrop(img);
    }
    if (flip && rng.nextDouble() < 0.5) crop = mirrored(crop);
    finish(ra.apply(crop, raRng, null), 0, 0, false, out, offset);
  }

  /** The evaluation transform's size × size crop as an image (zero where the crop leaves the resized image). */
  public Image evalCrop(Image img) {
    img = toChannels(img);
    int rw, rh;
    if (img.width() <= img.height()) {
      rw = p.resizeSize();
      rh = (int) ((long) p.resizeSize() * img.height() / img.width());
    } else {
      rh = p.resizeSize();
      rw = (int) ((long) p.resizeSize() * img.width() / img.height());
    }
    Image resized = Math.min(img.width(), img.height()) == p.resizeSize() && rw == img.width() && rh == img.height()
        ? img : Resample.resize(img, rw, rh, 0, 0, img.width(), img.height());
    int top = (int) Math.rint((rh - p.size()) / 2.0), left = (int) Math.rint((rw - p.size()) / 2.0);
    int s = p.size(), c = channels;
    byte[] out = new byte[s * s * c];
    for (int y = 0; y < s; y++) {
      for (int x = 0; x < s; x++) {
        int sy = top + y, sx = left + x;
        if (sy < 0 || sy >= resized.height() || sx < 0 || sx >= resized.width()) continue;
        for (int ch = 0; ch < c; ch++) out[(y * s + x) * c + ch] = (byte) resized.at(sy, sx, ch);
      }
    }
    return new Image(s, s, c, out);
  }

  /** The image mirrored left-right. */
  public static Image mirrored(Image img) {
    int w = img.width(), h = img.height(), c = img.channels();
    byte[] src = img.pixels(), out = new byte[src.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) System.arraycopy(src, (y * w + x) * c, out, (y * w + w - 1 - x) * c, c);
    }
    return new Image(w, h, c, out);
  }

  /** timm's RandAugment fill colour: the normalisation mean × 255, rounded, per channel. */
  public int[] meanFill() {
    int[] fill = new int[channels];
    for (int c = 0; c < channels; c++) fill[c] = (int) Math.min(255, Math.round(255 * mean[c]));
    return fill;
  }

  /** Training transform: {@code rrc} = random resized crop (else the evaluation crop), {@code flip} = random horizontal flip. */
  public void train(Image img, SplittableRandom rng, boolean rrc, double minScale, boolean flip, float[] out, int offset) {
    if (!rrc) {
      if (flip && rng.nextDouble() < 0.5) {
        eval(img, out, offset);
        flipInPlace(out, offset);
      } else {
        eval(img, out, offset);
      }
      return;
    }
    img = toChannels(img);
    double[] box = randomResizedCropBox(img.width(), img.height(), minScale, rng);
    Image crop = Resample.resize(img, p.size(), p.size(), box[0], box[1], box[0] + box[2], box[1] + box[3]);
    boolean f = flip && rng.nextDouble() < 0.5;
    finish(crop, 0, 0, f, out, offset);
  }

  /**
   * torchvision RandomResizedCrop.get_params: ten tries of area ∈ [min, 1]·A and log-uniform aspect
   * ratio ∈ [3/4, 4/3]; else the whole image clamped to that ratio, centred. Returns {x, y, w, h}.
   */
  static double[] randomResizedCropBox(int width, int height, double minScale, SplittableRandom rng) {
    double area = (double) width * height;
    double logLo = Math.log(3.0 / 4), logHi = Math.log(4.0 / 3);
    for (int attempt = 0; attempt < 10; attempt++) {
      double target = area * (minScale + (1 - minScale) * rng.nextDouble());
      double ratio = Math.exp(logLo + (logHi - logLo) * rng.nextDouble());
      int w = (int) Math.round(Math.sqrt(target * ratio));
      int h = (int) Math.round(Math.sqrt(target / ratio));
      if (w > 0 && h > 0 && w <= width && h <= height) {
        int y = rng.nextInt(height - h + 1);
        int x = rng.nextInt(width - w + 1);
        return new double[] {x, y, w, h};
      }
    }
    double inRatio = (double) width / height;
    int w, h;
    if (inRatio < 3.0 / 4) {
      w = width;
      h = (int) Math.round(w / (3.0 / 4));
    } else if (inRatio > 4.0 / 3) {
      h = height;
      w = (int) Math.round(h * (4.0 / 3));
    } else {
      w = width;
      h = height;
    }
    return new double[] {(width - w) / 2, (height - h) / 2, w, h};
  }

  /** Crop size×size at (left, top) of {@code img} (zero outside), optional flip, pad, upsample, normalise. */
  private void finish(Image img, int left, int top, boolean flip, float[] out, int offset) {
    int size = p.size(), pad = p.pad(), up = p.upsample(), side = inputSize(), c = channels;
    float[] lut = new float[256];
    for (int v = 0; v < 256; v++) lut[v] = v / 255f;
    int padded = size + 2 * pad;
    for (int y = 0; y < side; y++) {
      int py = y / up - pad; // row in the crop, or outside it (padding)
      for (int x = 0; x < side; x++) {
        int px = x / up - pad;
        if (flip && px >= 0 && px < size) px = size - 1 - px;
        int base = offset + (y * side + x) * c;
        boolean inside = py >= 0 && py < size && px >= 0 && px < size;
        int sy = top + py, sx = left + px;
        for (int ch = 0; ch < c; ch++) {
          float v = 0f;
          if (inside && sy >= 0 && sy < img.height() && sx >= 0 && sx < img.width()) v = lut[img.at(sy, sx, ch)];
          out[base + ch] = (v - mean[ch]) / std[ch];
        }
      }
    }
    assert padded * up == side;
  }

  /** Mirrors one sample [side, side, C] left-right in place. */
  public void flipInPlace(float[] data, int offset) {
    int side = inputSize(), c = channels;
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side / 2; x++) {
        int a = offset + (y * side + x) * c, b = offset + (y * side + side - 1 - x) * c;
        for (int ch = 0; ch < c; ch++) {
          float t = data[a + ch];
          data[a + ch] = data[b + ch];
          data[b + ch] = t;
        }
      }
    }
  }

  private Image toChannels(Image img) {
    if (img.channels() == channels) return img;
    int n = img.width() * img.height();
    byte[] out = new byte[n * channels];
    if (channels == 1) {
      for (int i = 0; i < n; i++) {
        int r = img.pixels()[3 * i] & 0xff, g = img.pixels()[3 * i + 1] & 0xff, b = img.pixels()[3 * i + 2] & 0xff;
        out[i] = (byte) ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
      }
    } else {
      for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) out[3 * i + c] = img.pixels()[i];
    }
    return new Image(img.width(), img.height(), channels, out);
  }

  /** The Fashion-MNIST preprocessing of the official run (28 → pad 2 → 32 → ×2 nearest → 64, mean 0.2860, std 0.3530). */
  public static Preprocessing fashionMnist() {
    return Preprocessing.of(28, 1.0, List.of(0.2860), List.of(0.3530)).withPadAndUpsample(2, 2);
  }
}
