package io.resttf.training.data;

/**
 * A decoded image: {@code height} × {@code width} × {@code channels} unsigned bytes, row-major (HWC),
 * 1 channel (luma) or 3 (RGB).
 */
public record Image(int width, int height, int channels, byte[] pixels) {
  public Image {
    if (width < 1 || height < 1 || (channels != 1 && channels != 3)) {
      throw new IllegalArgumentException("image " + width + "x" + height + "x" + channels);
    }
    if (pixels.length != width * height * channels) throw new IllegalArgumentException("pixel count");
  }

  public int at(int y, int x, int c) {
    return pixels[(y * width + x) * channels + c] & 0xff;
  }
}
