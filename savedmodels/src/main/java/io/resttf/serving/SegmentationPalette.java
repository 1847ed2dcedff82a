package io.resttf.serving;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Class names and RGB colours of a segmentation model, for pictures of its results.
 *
 * <p>{@link #ade20k()} is mmsegmentation's ADE20K table (bundled {@code ade20k.tsv}, copied from
 * open-mmlab/mmsegmentation {@code mmseg/datasets/ade.py} at commit b05a26e2f3511fd976ad89585717881b91e0afad,
 * where it is {@code METAINFO}; the 0.x {@code ADE20KDataset.CLASSES}/{@code PALETTE} hold the same values
 * in the same order). {@link #generic} is what mmseg's {@code show_result} uses for a dataset without a
 * palette: {@code np.random.seed(42); np.random.randint(0, 255, size=(K, 3))}, reproduced exactly
 * (numpy's legacy MT19937), so pictures of other class sets match mmseg's too.
 */
public final class SegmentationPalette {
  /** Number of ADE20K classes (the released UperNet heads). */
  public static final int ADE20K_CLASSES = 150;
  private static final String ADE20K_RESOURCE = "ade20k.tsv";
  /** mmseg's seed for palettes of datasets that define none. */
  private static final int GENERIC_SEED = 42;

  private static volatile SegmentationPalette ade20k;

  private final List<String> names;
  private final int[] rgb; // 0xRRGGBB per class

  private SegmentationPalette(List<String> names, int[] rgb) {
    this.names = List.copyOf(names);
    this.rgb = rgb;
  }

  /** ADE20K's 150 classes and colours as mmsegmentation defines them (name 7 is "bed ", with the space). */
  public static SegmentationPalette ade20k() {
    SegmentationPalette p = ade20k;
    if (p != null) return p;
    synchronized (SegmentationPalette.class) {
      if (ade20k == null) ade20k = readAde20k();
      return ade20k;
    }
  }

  /**
   * A palette for any class list: the colours mmseg draws for a dataset without a palette (numpy legacy
   * {@code seed(42)}, {@code randint(0, 255, size=(K, 3))}). Random, so neighbours are not guaranteed to
   * differ much, but the same for every run and the same as mmseg's pictures.
   */
  public static SegmentationPalette generic(List<String> names) {
    checkNames(names);
    MersenneTwister rng = new MersenneTwister(GENERIC_SEED);
    int[] rgb = new int[names.size()];
    for (int i = 0; i < rgb.length; i++) {
      int r = rng.randintBelow255(), g = rng.randintBelow255(), b = rng.randintBelow255();
      rgb[i] = (r << 16) | (g << 8) | b;
    }
    return new SegmentationPalette(names, rgb);
  }

  /**
   * {@link #ade20k()} when {@code labels} are ADE20K's 150 names in order (compared without surrounding
   * spaces, so a labels.txt that wrote "bed" for mmseg's "bed " still matches), else {@link #generic}.
   */
  public static SegmentationPalette forClasses(List<String> labels) {
    checkNames(labels);
    if (labels.size() == ADE20K_CLASSES) {
      List<String> ade = ade20k().names();
      boolean same = true;
      for (int i = 0; i < ADE20K_CLASSES && same; i++) {
        same = ade.get(i).strip().equals(labels.get(i).strip());
      }
      if (same) return ade20k();
    }
    return generic(labels);
  }

  /** The class names, index = class id (exactly as given or as upstream spells them). */
  public List<String> names() {
    return names;
  }

  public int size() {
    return names.size();
  }

  /** The name of class {@code index} for display: without surrounding spaces. */
  public String displayName(int index) {
    return names.get(checkIndex(index)).strip();
  }

  /** The colour of class {@code index} as 0xRRGGBB. */
  public int rgb(int index) {
    return rgb[checkIndex(index)];
  }

  /** The colour of class {@code index} as {r, g, b}. */
  public int[] color(int index) {
    int c = rgb(index);
    return new int[] {(c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF};
  }

  private int checkIndex(int index) {
    if (index < 0 || index >= names.size()) {
      throw new IllegalArgumentException("class index " + index + " out of range [0, " + names.size() + ")");
    }
    return index;
  }

  private static void checkNames(List<String> names) {
    if (names == null || names.isEmpty()) {
      throw new IllegalArgumentException("a palette needs at least one class name");
    }
    for (int i = 0; i < names.size(); i++) {
      if (names.get(i) == null) throw new IllegalArgumentException("class name " + i + " is null");
    }
  }

  private static SegmentationPalette readAde20k() {
    try (InputStream in = SegmentationPalette.class.getResourceAsStream(ADE20K_RESOURCE)) {
      if (in == null) throw new IllegalStateException("resource " + ADE20K_RESOURCE + " missing from the classpath");
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      List<String> names = new ArrayList<>();
      List<Integer> colours = new ArrayList<>();
      boolean header = false;
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("#")) continue;
        if (!header) {
          if (!line.equals("index\tname\tr\tg\tb")) {
            throw new IllegalStateException(ADE20K_RESOURCE + ": unexpected header " + line);
          }
          header = true;
          continue;
        }
        String[] f = line.split("\t", -1);
        if (f.length != 5 || Integer.parseInt(f[0]) != names.size()) {
          throw new IllegalStateException(ADE20K_RESOURCE + ": bad row " + line);
        }
        names.add(f[1]); // kept verbatim: upstream's "bed " has a trailing space
        colours.add((Integer.parseInt(f[2]) << 16) | (Integer.parseInt(f[3]) << 8) | Integer.parseInt(f[4]));
      }
      if (names.size() != ADE20K_CLASSES) {
        throw new IllegalStateException(ADE20K_RESOURCE + ": " + names.size() + " classes, expected " + ADE20K_CLASSES);
      }
      return new SegmentationPalette(names, colours.stream().mapToInt(Integer::intValue).toArray());
    } catch (IOException e) {
      throw new UncheckedIOException(ADE20K_RESOURCE + ": cannot read (" + e.getMessage() + ")", e);
    }
  }

  /**
   * numpy's legacy {@code RandomState} (MT19937 seeded by {@code init_genrand}) and the masked rejection
   * sampling of {@code randint(0, 255)}: enough to reproduce mmseg's fallback palette bit for bit.
   */
  static final class MersenneTwister {
    private static final int N = 624, M = 397;
    private final int[] mt = new int[N];
    private int index = N;

    MersenneTwister(int seed) {
      mt[0] = seed;
      for (int i = 1; i < N; i++) {
        mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
      }
    }

    int nextInt32() {
      if (index >= N) {
        for (int i = 0; i < N; i++) {
          int y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
          mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
        }
        index = 0;
      }
      int y = mt[index++];
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      return y;
    }

    /** {@code randint(0, 255)}: range 254, mask 0xFF, draws above 254 rejected (numpy's masked method). */
    int randintBelow255() {
      int v;
      do {
        v = nextInt32() & 0xFF;
      } while (v > 254);
      return v;
    }
  }
}
