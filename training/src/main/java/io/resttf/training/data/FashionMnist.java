package io.resttf.training.data;

import io.resttf.tensor.BadInputException;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST as Debian's {@code dataset-fashion-mnist} installs it ({@code /usr/share/datasets/fashion-mnist},
 * IDX files, gzip): 28×28 grayscale images and their labels, official order.
 *
 * @param images {@code count} images of 28×28 bytes, row-major
 * @param labels one class index (0-9) per image
 */
public record FashionMnist(byte[] images, byte[] labels, int count) {
  public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
  public static final int SIDE = 28;
  public static final int PIXELS = SIDE * SIDE;
  public static final int CLASSES = 10;

  public enum Split {
    TRAIN("train"), TEST("t10k");

    final String prefix;

    Split(String prefix) {
      this.prefix = prefix;
    }
  }

  /** Whether the Debian package's files are there. */
  public static boolean installed() {
    return Files.isRegularFile(DEBIAN_DIR.resolve("t10k-images-idx3-ubyte.gz"));
  }

  public static FashionMnist load(Split split) {
    return load(DEBIAN_DIR, split);
  }

  public static FashionMnist load(Path dir, Split split) {
    Path imagesFile = dir.resolve(split.prefix + "-images-idx3-ubyte.gz");
    Path labelsFile = dir.resolve(split.prefix + "-labels-idx1-ubyte.gz");
    byte[] images = readIdx(imagesFile, 0x00000803, new int[] {-1, SIDE, SIDE});
    byte[] labels = readIdx(labelsFile, 0x00000801, new int[] {-1});
    int n = labels.length;
    if (images.length != (long) n * PIXELS) {
      throw new BadInputException(imagesFile + ": " + images.length / PIXELS + " images but " + labelsFile + " has " + n + " labels");
    }
    for (int i = 0; i < n; i++) {
      if (labels[i] < 0 || labels[i] >= CLASSES) throw new BadInputException(labelsFile + ": label " + labels[i] + " at " + i + " is not 0-9");
    }
    return new FashionMnist(images, labels, n);
  }

  /** Image {@code i} as 28×28 bytes. */
  public byte[] image(int i) {
    byte[] out = new byte[PIXELS];
    System.arraycopy(images, i * PIXELS, out, 0, PIXELS);
    return out;
  }

  public int label(int i) {
    return labels[i];
  }

  /** Reads an IDX file (gzip) of unsigned bytes whose dims match {@code expect} (-1 = any). */
  static byte[] readIdx(Path file, int magic, int[] expect) {
    try (InputStream raw = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(new GZIPInputStream(raw, 1 << 16))) {
      int m = in.readInt();
      if (m != magic) throw new BadInputException(file + ": not an IDX file of the expected kind (magic " + Integer.toHexString(m) + ")");
      long n = 1;
      for (int d = 0; d < expect.length; d++) {
        int v = in.readInt();
        if (v < 0 || (expect[d] >= 0 && v != expect[d])) throw new BadInputException(file + ": unexpected dimension " + v);
        n *= v;
      }
      if (n > 200_000_000L) throw new BadInputException(file + ": implausible size " + n);
      byte[] data = new byte[(int) n];
      in.readFully(data);
      return data;
    } catch (NoSuchFileException e) {
      throw new BadInputException(file + ": no such file (install Debian's dataset-fashion-mnist)");
    } catch (EOFException e) {
      throw new BadInputException(file + ": truncated");
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")");
    }
  }
}
