package io.resttf.training.data;

import io.resttf.tensor.BadInputException;
import io.resttf.util.ImageHeader;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Images in one folder per class, as torchvision's ImageFolder: class names are the sub-folder names,
 * sorted; images are the files with an image extension directly inside them (hidden files ignored).
 * {@link #open} also understands a {@code train/} + {@code val/} layout (or {@code validation/},
 * {@code test/}); otherwise a deterministic, per-class split holds out a fraction for validation.
 */
public final class ImageFolder implements Dataset {
  public static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "gif");
  private static final List<String> VAL_NAMES = List.of("val", "validation", "test");

  private final List<String> classes;
  private final List<Path> files;
  private final int[] labels;
  private final int channels;
  private final long maxPixels;

  private ImageFolder(List<String> classes, List<Path> files, int[] labels, int channels, long maxPixels) {
    this.classes = List.copyOf(classes);
    this.files = List.copyOf(files);
    this.labels = labels;
    this.channels = channels;
    this.maxPixels = maxPixels;
  }

  /** A train and (possibly absent) validation dataset, and how they were found. */
  public record Split(ImageFolder train, ImageFolder val, String layout) {}

  /**
   * Opens {@code dir}: {@code dir/train/CLASS/*} (+ {@code dir/val/CLASS/*}) or {@code dir/CLASS/*} with
   * {@code valFraction} of each class held out (chosen by {@code seed}; 0 = no validation set).
   * Images are decoded to {@code channels} channels (1 = luma as PIL's convert('L'), 3 = RGB).
   *
   * @throws BadInputException for a missing, unreadable or empty folder, or a class folder without images
   */
  public static Split open(Path dir, int channels, double valFraction, long seed) {
    return open(dir, channels, valFraction, seed, ImageHeader.DEFAULT_MAX_PIXELS);
  }

  /**
   * As {@link #open(Path, int, double, long)}; an image whose header declares more than {@code maxPixels}
   * pixels fails to decode (a {@link DecodeException} naming it) without being decoded.
   */
  public static Split open(Path dir, int channels, double valFraction, long seed, long maxPixels) {
    ImageHeader.requireValidLimit(maxPixels);
    requireDirectory(dir);
    Path train = dir.resolve("train");
    if (Files.isDirectory(train)) {
      ImageFolder t = scan(train, null, channels, maxPixels);
      for (String v : VAL_NAMES) {
        Path val = dir.resolve(v);
        if (Files.isDirectory(val)) {
          ImageFolder vf = scan(val, t.classes, channels, maxPixels);
          return new Split(t, vf, "train/ + " + v + "/");
        }
      }
      return new Split(t, null, "train/ (no validation folder)");
    }
    ImageFolder all = scan(dir, null, channels, maxPixels);
    if (!(valFraction > 0)) return new Split(all, null, "all images for training (no validation)");
    if (valFraction >= 1) throw new BadInputException("--val-split must be in [0, 1), got " + valFraction);
    // per class: shuffle (seeded) and hold out round(fraction · n) images, at least one if the class has two
    List<Path> tf = new ArrayList<>(), vf = new ArrayList<>();
    List<Integer> tl = new ArrayList<>(), vl = new ArrayList<>();
    SplittableRandom rng = new SplittableRandom(seed ^ 0x7A1D5EEDL);
    for (int c = 0; c < all.classes.size(); c++) {
      List<Integer> idx = new ArrayList<>();
      for (int i = 0; i < all.files.size(); i++) if (all.labels[i] == c) idx.add(i);
      for (int i = idx.size() - 1; i > 0; i--) {
        int j = rng.nextInt(i + 1);
        Integer t = idx.get(i);
        idx.set(i, idx.get(j));
        idx.set(j, t);
      }
      int nVal = (int) Math.round(valFraction * idx.size());
      if (nVal == 0 && idx.size() >= 2) nVal = 1;
      if (nVal >= idx.size()) nVal = idx.size() - 1;
      List<Integer> valIdx = new ArrayList<>(idx.subList(0, nVal));
      List<Integer> trainIdx = new ArrayList<>(idx.subList(nVal, idx.size()));
      valIdx.sort(Comparator.naturalOrder());
      trainIdx.sort(Comparator.naturalOrder());
      for (int i : trainIdx) {
        tf.add(all.files.get(i));
        tl.add(c);
      }
      for (int i : valIdx) {
        vf.add(all.files.get(i));
        vl.add(c);
      }
    }
    ImageFolder t = new ImageFolder(all.classes, tf, tl.stream().mapToInt(Integer::intValue).toArray(), channels, maxPixels);
    ImageFolder v = new ImageFolder(all.classes, vf, vl.stream().mapToInt(Integer::intValue).toArray(), channels, maxPixels);
    return new Split(t, v, String.format(Locale.ROOT, "one folder per class, %.0f%% held out for validation", 100 * valFraction));
  }

  private static void requireDirectory(Path dir) {
    if (!Files.exists(dir)) throw new BadInputException(dir + ": no such directory");
    if (!Files.isDirectory(dir)) throw new BadInputException(dir + ": not a directory (expected one folder of images per class)");
    if (!Files.isReadable(dir)) throw new BadInputException(dir + ": cannot read the directory (permission denied)");
  }

  /** Scans {@code root}/CLASS/*; with {@code classes} given (a validation set), folders must be among them. */
  static ImageFolder scan(Path root, List<String> knownClasses, int channels, long maxPixels) {
    requireDirectory(root);
    List<Path> classDirs = list(root).stream().filter(Files::isDirectory).filter(p -> !hidden(p))
        .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
    if (classDirs.isEmpty()) {
      throw new BadInputException(root + ": no class folders (expected one folder of images per class, or train/ and val/"
          + " folders of them)");
    }
    List<String> classes = knownClasses != null ? knownClasses
        : classDirs.stream().map(p -> p.getFileName().toString()).toList();
    if (knownClasses == null && classes.size() < 2) {
      throw new BadInputException(root + ": only one class folder (" + classes.get(0) + "); a classifier needs at least two");
    }
    List<Path> files = new ArrayList<>();
    List<Integer> labels = new ArrayList<>();
    for (Path cd : classDirs) {
      String name = cd.getFileName().toString();
      int label = classes.indexOf(name);
      if (label < 0) {
        throw new BadInputException(cd + ": class \"" + name + "\" is not among the training classes " + classes);
      }
      List<Path> images = list(cd).stream().filter(Files::isRegularFile).filter(p -> !hidden(p)).filter(ImageFolder::isImageName)
          .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
      if (images.isEmpty()) {
        throw new BadInputException(cd + ": class folder has no images (." + String.join(", .", EXTENSIONS.stream().sorted().toList()) + ")");
      }
      for (Path p : images) {
        files.add(p);
        labels.add(label);
      }
    }
    return new ImageFolder(classes, files, labels.stream().mapToInt(Integer::intValue).toArray(), channels, maxPixels);
  }

  private static List<Path> list(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    } catch (AccessDeniedException e) {
      throw new BadInputException(dir + ": cannot read the directory (permission denied)");
    } catch (NoSuchFileException e) {
      throw new BadInputException(dir + ": no such directory");
    } catch (NotDirectoryException e) {
      throw new BadInputException(dir + ": not a directory");
    } catch (IOException e) {
      throw new BadInputException(dir + ": cannot read the directory (" + e.getMessage() + ")");
    }
  }

  private static boolean hidden(Path p) {
    return p.getFileName().toString().startsWith(".");
  }

  static boolean isImageName(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  @Override
  public int size() {
    return files.size();
  }

  @Override
  public List<String> classes() {
    return classes;
  }

  @Override
  public int label(int i) {
    return labels[i];
  }

  public Path file(int i) {
    return files.get(i);
  }

  @Override
  public String describe(int i) {
    return files.get(i).toString();
  }

  @Override
  public Image image(int i) throws DecodeException {
    return decode(files.get(i), channels, maxPixels);
  }

  @Override
  public byte[] encoded(int i) throws DecodeException {
    try {
      return Files.readAllBytes(files.get(i));
    } catch (IOException | RuntimeException e) {
      throw new DecodeException(files.get(i) + ": cannot read (" + e.getMessage() + ")");
    }
  }

  /** Decodes an image file to {@code channels} channels (alpha dropped, palette resolved), up to 40 MP. */
  public static Image decode(Path file, int channels) throws DecodeException {
    return decode(file, channels, ImageHeader.DEFAULT_MAX_PIXELS);
  }

  /**
   * Decodes an image file to {@code channels} channels; one whose header declares more than
   * {@code maxPixels} pixels is refused before decoding ("FILE: W×H = 400 MP exceeds the limit of 40 MP").
   */
  public static Image decode(Path file, int channels, long maxPixels) throws DecodeException {
    try {
      ImageHeader.check(file, maxPixels);
    } catch (BadInputException e) {
      throw new DecodeException(e.getMessage());
    }
    BufferedImage img;
    try {
      img = ImageIO.read(file.toFile());
    } catch (IOException | RuntimeException e) {
      throw new DecodeException(file + ": cannot decode (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")");
    }
    if (img == null) throw new DecodeException(file + ": not a decodable JPEG, PNG, BMP or GIF image");
    return fromBufferedImage(img, channels);
  }

  /**
   * Decodes encoded image bytes named {@code name} (a record's image/encoded) as {@link #decode(Path, int, long)}
   * decodes a file: the header's pixel count checked first, then the same decoder.
   */
  public static Image decode(byte[] bytes, String name, int channels, long maxPixels) throws DecodeException {
    try {
      ImageHeader.check(name, bytes, maxPixels);
    } catch (BadInputException e) {
      throw new DecodeException(e.getMessage());
    }
    BufferedImage img;
    try {
      img = ImageIO.read(new java.io.ByteArrayInputStream(bytes));
    } catch (IOException | RuntimeException e) {
      throw new DecodeException(name + ": cannot decode (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")");
    }
    if (img == null) throw new DecodeException(name + ": not a decodable JPEG, PNG, BMP or GIF image");
    return fromBufferedImage(img, channels);
  }

  /** Pixels of {@code img} as {@code channels} channels: 8-bit grey kept as is, otherwise through sRGB. */
  public static Image fromBufferedImage(BufferedImage img, int channels) {
    int w = img.getWidth(), h = img.getHeight();
    byte[] out = new byte[w * h * channels];
    Raster r = img.getRaster();
    boolean grey = r.getNumBands() == 1 && img.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY;
    if (grey) {
      int bits = img.getColorModel().getComponentSize(0);
      int[] row = new int[w];
      for (int y = 0; y < h; y++) {
        r.getSamples(0, y, w, 1, 0, row);
        for (int x = 0; x < w; x++) {
          int v = bits == 8 ? row[x] : bits > 8 ? row[x] >> (bits - 8) : row[x] * 255 / ((1 << bits) - 1);
          for (int c = 0; c < channels; c++) out[(y * w + x) * channels + c] = (byte) v;
        }
      }
      return new Image(w, h, channels, out);
    }
    int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
    for (int i = 0; i < w * h; i++) {
      int p = argb[i], red = (p >> 16) & 0xff, green = (p >> 8) & 0xff, blue = p & 0xff;
      if (channels == 3) {
        out[3 * i] = (byte) red;
        out[3 * i + 1] = (byte) green;
        out[3 * i + 2] = (byte) blue;
      } else {
        out[i] = (byte) ((19595 * red + 38470 * green + 7471 * blue + 32768) >> 16);
      }
    }
    return new Image(w, h, channels, out);
  }
}
