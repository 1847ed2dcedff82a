package io.resttf.training;

import io.resttf.model.Family;
import io.resttf.model.RestConfig;
import io.resttf.tensor.BadInputException;
import io.resttf.training.data.ImagePipeline;
import io.resttf.training.data.Prefetcher;
import io.resttf.util.AtomicFiles;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * What a run's first step is fed, drawn: the batch exactly as {@link StepInputs} prepares it for the graph
 * (crop, flip, RandAugment, random erasing, Mixup / CutMix, label smoothing; the same seed streams), each image
 * turned back into pixels and shown with its soft label.
 */
public final class AugmentPreview {
  private AugmentPreview() {}

  /**
   * One sample of the batch.
   *
   * @param image  what the network sees, un-normalised back to 8-bit pixels (grey for one channel)
   * @param target the soft target over the classes (sums to 1)
   * @param label  the image's own class
   */
  public record Sample(BufferedImage image, float[] target, int label) {}

  /**
   * The {@code options.batch} samples of the first step of a run with these options on {@code data} (same seed, same
   * draws as {@code train} makes).
   */
  public static List<Sample> firstStep(TrainOptions options, DataSpec.Data data) {
    ImagePipeline pipe = data.pipeline();
    int classes = data.classes().size();
    if (data.train().size() < options.batch) {
      throw new BadInputException("the data has " + data.train().size() + " training images, fewer than the " + options.batch
          + " asked for");
    }
    // the graph is not built: a config only carries the class count and channels StepInputs reads (no drop path)
    RestConfig config = RestConfig.of(Family.V2, List.of(8, 8, 8, 8), List.of(1, 1, 1, 1), List.of(1, 1, 1, 1),
        List.of(1, 1, 1, 1), List.of(1, 1, 1, 1), classes, pipe.channels());
    StepInputs inputs = new StepInputs(options, config, data, 0.0);
    PixelBatch pixels;
    try (Prefetcher<PixelBatch> first = inputs.epoch(0, 0, 1, 1)) {
      pixels = first.next();
    }
    if (!pixels.errors().isEmpty()) throw new BadInputException(pixels.errors().get(0));
    TrainingGraph.Batch batch = inputs.batch(pixels, 0, 0);
    int n = batch.size(), side = pipe.inputSize(), c = pipe.channels(), sample = pipe.sampleSize();
    List<Sample> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      float[] target = new float[classes];
      if (batch.targets() != null) {
        System.arraycopy(batch.targets(), i * classes, target, 0, classes);
      } else {
        target[batch.labels()[i]] = 1f;
      }
      out.add(new Sample(toImage(batch.pixels(), i * sample, side, c, pipe), target, batch.labels()[i]));
    }
    return out;
  }

  /** A normalised NHWC sample back to 8-bit pixels: v · std + mean, × 255, rounded and clamped. */
  static BufferedImage toImage(float[] px, int offset, int side, int channels, ImagePipeline pipe) {
    BufferedImage img = new BufferedImage(side, side, channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
    var mean = pipe.preprocessing().mean();
    var std = pipe.preprocessing().std();
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        int at = offset + (y * side + x) * channels;
        int[] v = new int[3];
        for (int ch = 0; ch < 3; ch++) {
          int k = channels == 1 ? 0 : ch;
          double value = (px[at + k] * std.get(k) + mean.get(k)) * 255.0;
          v[ch] = (int) Math.max(0, Math.min(255, Math.round(value)));
        }
        if (channels == 1) {
          img.getRaster().setSample(x, y, 0, v[0]);
        } else {
          img.setRGB(x, y, (v[0] << 16) | (v[1] << 8) | v[2]);
        }
      }
    }
    return img;
  }

  /**
   * The classes of a soft target worth naming, largest first: at most {@code k} of those above the target's smallest
   * weight (the label-smoothing floor), or its largest alone when all weigh the same.
   */
  static List<Integer> largest(float[] target, int k) {
    float floor = Float.MAX_VALUE;
    int argmax = 0;
    for (int i = 0; i < target.length; i++) {
      floor = Math.min(floor, target[i]);
      if (target[i] > target[argmax]) argmax = i;
    }
    List<Integer> named = new ArrayList<>();
    for (int i = 0; i < target.length; i++) if (target[i] > floor + 1e-6f) named.add(i);
    if (named.isEmpty()) named.add(argmax);
    named.sort((a, b) -> Float.compare(target[b], target[a]));
    return named.subList(0, Math.min(k, named.size()));
  }

  /** Pixels each sample is drawn at least (small inputs such as Fashion-MNIST's 64² are scaled up). */
  static final int MIN_CELL = 128;
  /** Layout: space around cells, a text line's height, the title block above the first row. */
  static final int PAD = 6, LINE = 15, TITLE_LINES = 3, HEAD = TITLE_LINES * LINE + 8, CAPTION = 2 * LINE + 4;

  /** The grid: a title line, then the samples row by row, each with its two largest soft-label classes under it. */
  public static BufferedImage grid(List<Sample> samples, List<String> classes, String title) {
    int n = samples.size();
    int cols = (int) Math.ceil(Math.sqrt(n)), rows = (n + cols - 1) / cols;
    int side = samples.get(0).image().getWidth();
    int scale = Math.max(1, (MIN_CELL + side - 1) / side);
    int cell = side * scale, pad = PAD, line = LINE, caption = CAPTION, head = HEAD;
    Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    Font titleFont = new Font(Font.SANS_SERIF, Font.BOLD, 13);
    int width = cols * (cell + pad) + pad, height = head + rows * (cell + caption + pad) + pad;
    BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, width, height);
      g.setColor(new Color(0x20, 0x20, 0x20));
      g.setFont(titleFont);
      List<String> lines = wrap(g.getFontMetrics(), title.split(" · "), width - 2 * pad, TITLE_LINES);
      for (int l = 0; l < lines.size(); l++) drawFitted(g, lines.get(l), pad, (l + 1) * line + 2, width - 2 * pad);
      g.setFont(font);
      for (int i = 0; i < n; i++) {
        int x = pad + (i % cols) * (cell + pad), y = head + (i / cols) * (cell + caption + pad);
        // nearest neighbour: the pixels the network sees, not a smoothed version of them
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
        g.drawImage(samples.get(i).image(), x, y, cell, cell, null);
        List<Integer> top = largest(samples.get(i).target(), 2);
        for (int r = 0; r < top.size(); r++) {
          int k = top.get(r);
          String name = k < classes.size() ? classes.get(k) : "class " + k;
          String text = String.format(Locale.ROOT, "%s %.2f", name, samples.get(i).target()[k]);
          g.setColor(r == 0 ? new Color(0x20, 0x20, 0x20) : new Color(0x60, 0x60, 0x60));
          drawFitted(g, text, x, y + cell + (r + 1) * line, cell);
        }
      }
    } finally {
      g.dispose();
    }
    return out;
  }

  /** {@code parts} joined by " · " into at most {@code maxLines} lines of at most {@code width} pixels (the last may overflow). */
  private static List<String> wrap(FontMetrics fm, String[] parts, int width, int maxLines) {
    List<String> lines = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String part : parts) {
      String next = cur.length() == 0 ? part : cur + " · " + part;
      if (cur.length() > 0 && fm.stringWidth(next) > width && lines.size() < maxLines - 1) {
        lines.add(cur.toString());
        cur = new StringBuilder(part);
      } else {
        cur = new StringBuilder(next);
      }
    }
    lines.add(cur.toString());
    return lines;
  }

  private static void drawFitted(Graphics2D g, String text, int x, int y, int maxWidth) {
    FontMetrics fm = g.getFontMetrics();
    String t = text;
    while (t.length() > 1 && fm.stringWidth(t) > maxWidth) t = t.substring(0, t.length() - 2) + "…";
    g.drawString(t, x, y);
  }

  /** The title of a preview: the options that change what the images look like. */
  public static String title(TrainOptions o) {
    List<String> parts = new ArrayList<>();
    parts.add("recipe " + o.recipe);
    parts.add("augment " + o.augment + (TrainOptions.RRC_FLIP.equals(o.augment) ? " (scale ≥ " + o.rrcMinScale + ")" : ""));
    parts.add("aa " + o.aa);
    parts.add("mixup " + o.mixup + ", cutmix " + o.cutmix + (o.mixing() ? " (p " + o.mixupProb + ", switch " + o.mixupSwitchProb + ")" : ""));
    parts.add("reprob " + o.reprob);
    if (o.augRepeats > 0) parts.add("aug repeats " + o.augRepeats);
    parts.add("label smoothing " + o.labelSmoothing);
    parts.add("seed " + o.seed);
    return String.join(" · ", parts);
  }

  /** Writes the grid as a PNG, atomically (a reader never sees half a file; a failure leaves none). */
  public static void writePng(Path png, BufferedImage grid) throws IOException {
    AtomicFiles.write(png, ch -> {
      if (!ImageIO.write(grid, "png", Channels.newOutputStream(ch))) throw new IOException("no PNG writer");
    });
  }
}
