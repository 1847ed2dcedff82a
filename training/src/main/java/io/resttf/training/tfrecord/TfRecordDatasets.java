package io.resttf.training.tfrecord;

import io.resttf.tensor.BadInputException;
import io.resttf.training.data.ImageFolder;
import io.resttf.util.AtomicFiles;
import io.resttf.util.ImageHeader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.LongConsumer;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;

/**
 * Image folders as TFRecord shards of {@link ImageExample}s, and a file's summary. Shards are named as
 * TensorFlow's datasets name them ({@code train-00000-of-00004.tfrecord}); images are assigned round-robin
 * after a seeded shuffle, so every shard mixes the classes; the files' bytes go in unchanged (no re-encoding).
 */
public final class TfRecordDatasets {
  private TfRecordDatasets() {}

  public static final int MAX_SHARDS = 10_000;

  /** What {@link #fromImageFolder} wrote: images per split, shards per split, the classes (label order). */
  public record Written(Map<String, Integer> images, int shards, List<String> classes) {}

  /**
   * Writes {@code folder} (one folder of images per class, or train/ and val/ folders of them) into
   * {@code out}: {@code SPLIT-NNNNN-of-MMMMM.tfrecord} per split and {@code classes.txt}; the directory appears
   * whole or not at all. Images are checked (header readable, at most {@code maxPixels}) before anything is
   * written; {@code progress} gets the number of images written so far.
   */
  public static Written fromImageFolder(Path folder, Path out, int shards, long seed, long maxPixels, boolean force,
      LongConsumer progress) {
    if (shards < 1 || shards > MAX_SHARDS) throw new BadInputException("--shards must be between 1 and " + MAX_SHARDS + ", got " + shards);
    ImageFolder.Split split = ImageFolder.open(folder, 3, 0, seed, maxPixels);
    Map<String, ImageFolder> splits = new LinkedHashMap<>();
    splits.put("train", split.train());
    if (split.val() != null) splits.put("val", split.val());
    List<String> classes = split.train().classes();
    Map<String, Integer> counts = new LinkedHashMap<>();
    long[] done = {0};
    AtomicFiles.writeDirectory(out, force, dir -> {
      for (Map.Entry<String, ImageFolder> e : splits.entrySet()) {
        ImageFolder f = e.getValue();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < f.size(); i++) order.add(i);
        SplittableRandom rng = new SplittableRandom(seed ^ 0x7FCEC0DEL);
        for (int i = order.size() - 1; i > 0; i--) java.util.Collections.swap(order, i, rng.nextInt(i + 1));
        int n = Math.min(shards, Math.max(1, f.size()));
        List<TfRecords.Writer> writers = new ArrayList<>();
        try {
          for (int s = 0; s < n; s++) {
            writers.add(new TfRecords.Writer(dir.resolve(String.format(Locale.ROOT, "%s-%05d-of-%05d.tfrecord", e.getKey(), s, n))));
          }
          for (int k = 0; k < order.size(); k++) {
            int i = order.get(k);
            Path file = f.file(i);
            byte[] bytes = Files.readAllBytes(file);
            ImageHeader h = ImageHeader.read(bytes).orElseThrow(() -> new BadInputException(file + ": not a PNG, JPEG, GIF or BMP image"));
            ImageHeader.check(file.toString(), bytes, maxPixels);
            String name = f.label(i) < classes.size() ? classes.get(f.label(i)) + "/" + file.getFileName() : file.getFileName().toString();
            writers.get(k % n).write(new ImageExample(bytes, h.format().toLowerCase(Locale.ROOT), f.label(i),
                classes.get(f.label(i)), h.height(), Math.abs(h.width()), name).toBytes());
            progress.accept(++done[0]);
          }
          for (TfRecords.Writer w : writers) w.close();
        } catch (IOException | RuntimeException ex) {
          writers.forEach(TfRecords.Writer::abandon);
          throw ex;
        }
        counts.put(e.getKey(), f.size());
      }
      Files.writeString(dir.resolve("classes.txt"), String.join("\n", classes) + "\n");
    });
    return new Written(counts, Math.min(shards, counts.values().stream().mapToInt(Integer::intValue).max().orElse(1)), classes);
  }

  /** A file's records: how many, the feature keys with their kinds (from every record), labels and formats counted. */
  public record Summary(long records, Map<String, String> features, Map<Long, Long> labels, Map<String, Long> formats,
      long bytes) {}

  /** Reads every record of {@code file} (checking its CRCs and that each is a tf.Example). */
  public static Summary inspect(Path file) {
    long n = 0, bytes = 0;
    Map<String, String> features = new TreeMap<>();
    Map<Long, Long> labels = new TreeMap<>();
    Map<String, Long> formats = new TreeMap<>();
    try (TfRecords.Reader r = new TfRecords.Reader(file)) {
      while (r.hasNext()) {
        long index = r.index();
        byte[] rec = r.next();
        bytes += rec.length;
        Example e;
        try {
          e = Example.parseFrom(rec);
        } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
          throw new BadInputException(file + ": record " + index + ": not a tf.Example (" + ex.getMessage() + ")");
        }
        for (Map.Entry<String, Feature> f : e.getFeatures().getFeatureMap().entrySet()) {
          String kind = ImageExample.describe(f.getValue());
          features.merge(f.getKey(), kind, (a, b) -> a.equals(b) ? a : a + " / " + b);
        }
        if (e.getFeatures().containsFeature(ImageExample.ENCODED)) {
          ImageExample ie = ImageExample.parse(rec, file + ": record " + index);
          labels.merge(ie.label(), 1L, Long::sum);
          formats.merge(ie.format(), 1L, Long::sum);
        }
        n++;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Summary(n, features, labels, formats, bytes);
  }
}
