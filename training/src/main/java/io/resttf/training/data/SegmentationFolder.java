package io.resttf.training.data;

import io.resttf.tensor.BadInputException;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * A semantic-segmentation split as mmseg's custom datasets lay it out: images {@code NAME.(png|jpg)} and label
 * maps {@code NAME.png} (8-bit grey, value = class, 255 = ignored), read whole into memory, normalised per
 * channel. Every image must have its label map, of its size; sides multiples of 32; every label below the
 * class count or 255.
 */
public record SegmentationFolder(int count, int height, int width, int channels, float[] pixels, int[] labels, List<String> names) {
  /**
   * The image and label-map folders of split {@code split} ("train" or "val") of dataset {@code data}: mmseg's
   * layout {@code data/images/SPLIT} + {@code data/annotations/SPLIT} (ADE20K's {@code training} /
   * {@code validation} too), or {@code data/SPLIT/images} + {@code data/SPLIT/annotations}; null if neither.
   */
  public static Path[] split(Path data, String split) {
    String ade = split.equals("train") ? "training" : "validation";
    for (String name : List.of(split, ade)) {
      Path i = data.resolve("images").resolve(name), a = data.resolve("annotations").resolve(name);
      if (Files.isDirectory(i) || Files.isDirectory(a)) return new Path[] {i, a};
    }
    Path i = data.resolve(split).resolve("images"), a = data.resolve(split).resolve("annotations");
    if (Files.isDirectory(i) || Files.isDirectory(a)) return new Path[] {i, a};
    return null;
  }

  /** Reads split {@code split} of dataset {@code data} ({@link #split}); a one-line error when it is not there. */
  public static SegmentationFolder readSplit(Path data, String split, int channels, int numClasses, double[] mean, double[] std) {
    Path[] f = split(data, split);
    if (f == null) {
      throw new BadInputException(data + ": no " + split + " split (images/" + split + " and annotations/" + split
          + ", as mmseg's datasets, or " + split + "/images and " + split + "/annotations)");
    }
    return read(f[0], f[1], channels, numClasses, mean, std);
  }

  /** Reads {@code images} with their label maps in {@code annotations}; {@code channels} 1 (grey) or 3 (RGB); (x/255 − mean) / std. */
  public static SegmentationFolder read(Path images, Path annotations, int channels, int numClasses, double[] mean, double[] std) {
    if (!Files.isDirectory(images)) throw new BadInputException(images + ": no such directory of images");
    if (!Files.isDirectory(annotations)) throw new BadInputException(annotations + ": no such directory of label maps");
    List<Path> files;
    try (Stream<Path> s = Files.list(images)) {
      files = s.filter(p -> p.getFileName().toString().matches("(?i).*\\.(png|jpe?g|bmp)$")).sorted().toList();
    } catch (IOException e) {
      throw new BadInputException(images + ": cannot list (" + io.resttf.util.ErrorText.reason(e) + ")", e);
    }
    if (files.isEmpty()) throw new BadInputException(images + ": no images (.png, .jpg, .bmp)");
    try (Stream<Path> s = Files.list(annotations)) {
      if (s.findAny().isEmpty()) throw new BadInputException(annotations + ": empty, no label maps");
    } catch (IOException e) {
      throw new BadInputException(annotations + ": cannot list (" + io.resttf.util.ErrorText.reason(e) + ")", e);
    }
    int h = -1, w = -1;
    float[] px = null;
    int[] lab = null;
    List<String> names = new ArrayList<>();
    for (int i = 0; i < files.size(); i++) {
      Path f = files.get(i);
      String name = f.getFileName().toString();
      String stem = name.substring(0, name.lastIndexOf('.'));
      Path a = annotations.resolve(stem + ".png");
      BufferedImage img = decode(f), ann = decode(a);
      if (h < 0) {
        h = img.getHeight();
        w = img.getWidth();
        if (h % 32 != 0 || w % 32 != 0) {
          throw new BadInputException(f + ": " + w + "x" + h + " is not a multiple of 32 on both sides (resize the dataset)");
        }
        px = new float[Math.multiplyExact(files.size(), h * w * channels)];
        lab = new int[Math.multiplyExact(files.size(), h * w)];
      }
      if (img.getHeight() != h || img.getWidth() != w) {
        throw new BadInputException(f + ": " + img.getWidth() + "x" + img.getHeight() + ", the split's first image is " + w + "x" + h);
      }
      if (ann.getHeight() != h || ann.getWidth() != w) {
        throw new BadInputException(a + ": " + ann.getWidth() + "x" + ann.getHeight() + ", its image is " + w + "x" + h);
      }
      Raster r = ann.getRaster();
      if (r.getNumBands() != 1) throw new BadInputException(a + ": a label map must be a one-channel (grey or indexed) PNG");
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int v = r.getSample(x, y, 0);
          if (v != 255 && v >= numClasses) {
            throw new BadInputException(a + ": label " + v + " at (" + x + ", " + y + ") but the model has " + numClasses
                + " classes (0.." + (numClasses - 1) + ", 255 ignored)");
          }
          lab[(i * h + y) * w + x] = v;
          int rgb = img.getRGB(x, y);
          int rr = (rgb >> 16) & 0xff, gg = (rgb >> 8) & 0xff, bb = rgb & 0xff;
          int base = ((i * h + y) * w + x) * channels;
          if (channels == 1) {
            int grey = img.getRaster().getNumBands() == 1 ? img.getRaster().getSample(x, y, 0) : (rr * 299 + gg * 587 + bb * 114 + 500) / 1000;
            px[base] = (float) ((grey / 255.0 - mean[0]) / std[0]);
          } else {
            px[base] = (float) ((rr / 255.0 - mean[0]) / std[0]);
            px[base + 1] = (float) ((gg / 255.0 - mean[1]) / std[1]);
            px[base + 2] = (float) ((bb / 255.0 - mean[2]) / std[2]);
          }
        }
      }
      names.add(stem);
    }
    return new SegmentationFolder(files.size(), h, w, channels, px, lab, List.copyOf(names));
  }

  private static BufferedImage decode(Path f) {
    if (!Files.isRegularFile(f)) throw new BadInputException(f + ": no such file");
    try {
      BufferedImage img = ImageIO.read(f.toFile());
      if (img == null) throw new BadInputException(f + ": not a readable image");
      return img;
    } catch (IOException e) {
      throw new BadInputException(f + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")", e);
    }
  }
}
