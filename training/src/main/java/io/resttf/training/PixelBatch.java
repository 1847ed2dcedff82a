package io.resttf.training;

import java.util.Arrays;
import java.util.List;

/**
 * A batch as the loader threads prepared it: NHWC pixels for {@code n} images (the buffer may be longer
 * when images could not be decoded), their labels, and what could not be decoded.
 */
record PixelBatch(float[] pixels, int[] labels, int n, List<String> errors) {
  /** The pixels of the {@code n} decoded images, {@code sampleSize} floats each. */
  float[] decodedPixels(int sampleSize) {
    return pixels.length == n * sampleSize ? pixels : Arrays.copyOf(pixels, n * sampleSize);
  }

  /** The labels of the {@code n} decoded images. */
  int[] decodedLabels() {
    return labels.length == n ? labels : Arrays.copyOf(labels, n);
  }
}
