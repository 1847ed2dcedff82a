package io.resttf.training.data;

import io.resttf.tensor.BadInputException;
import io.resttf.training.data.FashionMnist;
import io.resttf.util.AtomicFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/**
 * A small semantic-segmentation dataset made from Fashion-MNIST, so segmentation fine-tuning runs here
 * without downloads: each scene is a grey canvas with faint noise on which 2–4 articles are pasted at 2×
 * (nearest neighbour, as the demo model saw them), at random places, later ones over earlier ones; an
 * article's silhouette (its pixels of grey level ≥ {@value #SILHOUETTE}) is its mask. Labels: 0 background,
 * 1–10 the Fashion-MNIST classes + 1; 255 (ignored by the loss, as mmseg's custom datasets) on the one-pixel
 * ring around each silhouette, where a 2× paste leaves the class ambiguous. Written as mmseg's custom
 * datasets lay them out: {@code DIR/train/images/NNNNN.png}, {@code DIR/train/annotations/NNNNN.png}
 * (8-bit grey, value = label), the same under {@code DIR/val/}. Train scenes take their articles from the
 * Fashion-MNIST training set, val scenes from the test set; {@code DIR/classes.txt} names the labels.
 */
public final class SyntheticScenes {
  private SyntheticScenes() {}

  public static final int CLASSES = FashionMnist.CLASSES + 1;
  public static final int IGNORE = 255;
  /** The class names of a segmentation dataset directory, one per line, in label order. */
  public static final String CLASSES_FILE = "classes.txt";
  static final int SILHOUETTE = 24;
  public static final List<String> LABELS = List.of("background", "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

  /** One scene: grey pixels and labels, row-major size × size. */
  public record Scene(int size, byte[] pixels, byte[] labels) {}

  /** Scene {@code index} of a split, deterministic in (seed, index). */
  public static Scene scene(FashionMnist source, int size, long seed, int index) {
    SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + index);
    byte[] px = new byte[size * size];
    byte[] lab = new byte[size * size];
    for (int i = 0; i < px.length; i++) px[i] = (byte) rng.nextInt(0, 12);
    int items = rng.nextInt(2, 5);
    int side = 2 * FashionMnist.SIDE;
    for (int k = 0; k < items; k++) {
      int which = rng.nextInt(source.count());
      byte[] art = source.image(which);
      int cls = source.label(which) + 1;
      int top = rng.nextInt(-side / 4, size - side * 3 / 4), left = rng.nextInt(-side / 4, size - side * 3 / 4);
      for (int y = 0; y < side; y++) {
        for (int x = 0; x < side; x++) {
          int sy = top + y, sx = left + x;
          if (sy < 0 || sx < 0 || sy >= size || sx >= size) continue;
          int v = art[(y / 2) * FashionMnist.SIDE + x / 2] & 0xff;
          if (v >= SILHOUETTE) {
            px[sy * size + sx] = (byte) v;
            lab[sy * size + sx] = (byte) cls;
          }
        }
      }
    }
    // ignore the ring where an object meets another label
    byte[] out = lab.clone();
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        int l = lab[y * size + x];
        if (l == 0) continue;
        boolean edge = false;
        for (int dy = -1; dy <= 1 && !edge; dy++) {
          for (int dx = -1; dx <= 1; dx++) {
            int ny = y + dy, nx = x + dx;
            if (ny >= 0 && nx >= 0 && ny < size && nx < size && lab[ny * size + nx] != l) {
              edge = true;
              break;
            }
          }
        }
        if (edge) out[y * size + x] = (byte) IGNORE;
      }
    }
    return new Scene(size, px, out);
  }

  /**
   * Writes {@code train} and {@code val} scenes of {@code size}² into {@code dir} (which must not exist), atomically:
   * the whole dataset appears at once or not at all.
   */
  public static void write(Path dir, int train, int val, int size, long seed) {
    if (size < 64 || size % 32 != 0 || size > 1024) {
      throw new BadInputException("scene size " + size + " must be a multiple of 32 in 64..1024");
    }
    if (train < 1 || val < 1 || train > 1_000_000 || val > 1_000_000) {
      throw new BadInputException("scene counts must be in 1..1000000, got train " + train + ", val " + val);
    }
    if (Files.exists(dir)) throw new BadInputException(dir + ": exists; give a new directory");
    FashionMnist trainSource = FashionMnist.load(FashionMnist.Split.TRAIN);
    FashionMnist valSource = FashionMnist.load(FashionMnist.Split.TEST);
    AtomicFiles.writeDirectory(dir, false, tmp -> {
      writeSplit(tmp.resolve("train"), trainSource, train, size, seed);
      writeSplit(tmp.resolve("val"), valSource, val, size, seed + 1);
      Files.writeString(tmp.resolve(CLASSES_FILE), String.join("\n", LABELS) + "\n");
    });
  }

  private static void writeSplit(Path split, FashionMnist source, int count, int size, long seed) throws IOException {
    Path images = Files.createDirectories(split.resolve("images"));
    Path annotations = Files.createDirectories(split.resolve("annotations"));
    for (int i = 0; i < count; i++) {
      Scene s = scene(source, size, seed, i);
      String name = String.format("%05d.png", i);
      Files.write(images.resolve(name), png(s.pixels(), size));
      Files.write(annotations.resolve(name), png(s.labels(), size));
    }
  }

  static byte[] png(byte[] grey, int size) {
    BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_BYTE_GRAY);
    img.getRaster().setDataElements(0, 0, size, size, grey);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(img, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
