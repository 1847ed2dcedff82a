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
 * without downloads: each scene is a grey canvas with faint noise, cut into 64-pixel cells; each cell holds
 * an article with probability 3/4 (at least one per scene), pasted at 2× (nearest neighbour, as the demo
 * model saw them) at a random offset inside its cell; an article's silhouette (what the background, grey level below
 * {@value #SILHOUETTE}, cannot reach from the border: dark fabric inside the outline included) is its mask. Labels: 0 background,
 * 1–10 the Fashion-MNIST classes + 1; 255 (ignored by the loss, as mmseg's custom datasets) on the one-pixel
 * ring around each silhouette, where a 2× paste leaves the class ambiguous. Written as mmseg's custom
 * datasets lay them out: {@code DIR/images/train/NNNNN.png}, {@code DIR/annotations/train/NNNNN.png}
 * (8-bit grey, value = label), the same for {@code val}. Train scenes take their articles from the
 * Fashion-MNIST training set, val scenes from the test set; {@code DIR/classes.txt} names the labels.
 */
public final class SyntheticScenes {
  private SyntheticScenes() {}

  public static final int CLASSES = FashionMnist.CLASSES + 1;
  public static final int IGNORE = 255;
  /** The class names of a segmentation dataset directory, one per line, in label order. */
  public static final String CLASSES_FILE = "classes.txt";
  static final int SILHOUETTE = 6;
  /** Side of the grid cells an article is placed in. */
  static final int CELL = 64;
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
    // a grid of 64-pixel cells (the demo model's input size), each holding an article with probability 3/4
    // (at least one per scene), pasted at 2x at a random offset inside its cell: no occlusion
    int cells = size / CELL, side = 2 * FashionMnist.SIDE;
    boolean any = false;
    for (int cy = 0; cy < cells; cy++) {
      for (int cx = 0; cx < cells; cx++) {
        boolean last = cy == cells - 1 && cx == cells - 1;
        if (rng.nextInt(4) == 0 && !(last && !any)) continue;
        any = true;
        int which = rng.nextInt(source.count());
        byte[] art = source.image(which);
        int cls = source.label(which) + 1;
        int top = cy * CELL + rng.nextInt(CELL - side + 1), left = cx * CELL + rng.nextInt(CELL - side + 1);
        boolean[] mask = silhouette(art);
        for (int y = 0; y < side; y++) {
          for (int x = 0; x < side; x++) {
            int i = (y / 2) * FashionMnist.SIDE + x / 2;
            if (mask[i]) {
              px[(top + y) * size + left + x] = art[i];
              lab[(top + y) * size + left + x] = (byte) cls;
            }
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
   * An article's silhouette on its 28×28 grid: everything the background (pixels below {@value #SILHOUETTE})
   * cannot reach from the border, so dark fabric inside the outline belongs to the article.
   */
  static boolean[] silhouette(byte[] art) {
    int n = FashionMnist.SIDE;
    boolean[] outside = new boolean[n * n];
    java.util.ArrayDeque<Integer> todo = new java.util.ArrayDeque<>();
    for (int i = 0; i < n; i++) {
      for (int p : new int[] {i, (n - 1) * n + i, i * n, i * n + n - 1}) {
        if (!outside[p] && (art[p] & 0xff) < SILHOUETTE) {
          outside[p] = true;
          todo.add(p);
        }
      }
    }
    while (!todo.isEmpty()) {
      int p = todo.poll(), y = p / n, x = p % n;
      int[][] next = {{y - 1, x}, {y + 1, x}, {y, x - 1}, {y, x + 1}};
      for (int[] q : next) {
        if (q[0] < 0 || q[1] < 0 || q[0] >= n || q[1] >= n) continue;
        int j = q[0] * n + q[1];
        if (!outside[j] && (art[j] & 0xff) < SILHOUETTE) {
          outside[j] = true;
          todo.add(j);
        }
      }
    }
    boolean[] inside = new boolean[n * n];
    for (int i = 0; i < inside.length; i++) inside[i] = !outside[i];
    return inside;
  }

  /**
   * Writes {@code train} and {@code val} scenes of {@code size}² into {@code dir} (which must not exist), atomically:
   * the whole dataset appears at once or not at all.
   */
  public static void write(Path dir, int train, int val, int size, long seed) {
    if (size < CELL || size % CELL != 0 || size > 1024) {
      throw new BadInputException("scene size " + size + " must be a multiple of " + CELL + " in 64..1024");
    }
    if (train < 1 || val < 1 || train > 1_000_000 || val > 1_000_000) {
      throw new BadInputException("scene counts must be in 1..1000000, got train " + train + ", val " + val);
    }
    if (Files.exists(dir)) throw new BadInputException(dir + ": exists; give a new directory");
    FashionMnist trainSource = FashionMnist.load(FashionMnist.Split.TRAIN);
    FashionMnist valSource = FashionMnist.load(FashionMnist.Split.TEST);
    AtomicFiles.writeDirectory(dir, false, tmp -> {
      writeSplit(tmp, "train", trainSource, train, size, seed);
      writeSplit(tmp, "val", valSource, val, size, seed + 1);
      Files.writeString(tmp.resolve(CLASSES_FILE), String.join("\n", LABELS) + "\n");
    });
  }

  private static void writeSplit(Path dir, String split, FashionMnist source, int count, int size, long seed) throws IOException {
    Path images = Files.createDirectories(dir.resolve("images").resolve(split));
    Path annotations = Files.createDirectories(dir.resolve("annotations").resolve(split));
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
