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
 * The 1000 ImageNet-1k classes in the index order of the released heads (torchvision / timm order),
 * from the bundled {@code imagenet-1k-labels.tsv} (columns index, synset, label).
 */
public final class ImageNetLabels {
  public static final int NUM_CLASSES = 1000;
  private static final String RESOURCE = "imagenet-1k-labels.tsv";

  private static volatile Table table;

  private record Table(List<String> synsets, List<String> labels, List<String> shortNames) {}

  private ImageNetLabels() {}

  /** The usual short class names: the first comma-separated synonym of each label ("tench", "goldfish", ...). */
  public static List<String> shortNames() {
    return load().shortNames();
  }

  /** The full labels with every synonym ("tench, Tinca tinca"). */
  public static List<String> labels() {
    return load().labels();
  }

  /** WordNet synset ids ("n01440764"). */
  public static List<String> synsets() {
    return load().synsets();
  }

  private static Table load() {
    Table t = table;
    if (t != null) return t;
    synchronized (ImageNetLabels.class) {
      if (table == null) table = read();
      return table;
    }
  }

  private static Table read() {
    try (InputStream in = ImageNetLabels.class.getResourceAsStream(RESOURCE)) {
      if (in == null) throw new IllegalStateException("resource " + RESOURCE + " missing from the classpath");
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      List<String> synsets = new ArrayList<>(), labels = new ArrayList<>(), names = new ArrayList<>();
      String header = r.readLine();
      if (header == null || !header.startsWith("index\tsynset\tlabel")) {
        throw new IllegalStateException(RESOURCE + ": unexpected header " + header);
      }
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isBlank()) continue;
        String[] f = line.split("\t", -1);
        if (f.length < 3 || Integer.parseInt(f[0]) != synsets.size()) {
          throw new IllegalStateException(RESOURCE + ": malformed line " + (synsets.size() + 2) + ": " + line);
        }
        synsets.add(f[1]);
        labels.add(f[2]);
        names.add(f[2].split(",", 2)[0].trim());
      }
      if (synsets.size() != NUM_CLASSES) {
        throw new IllegalStateException(RESOURCE + ": " + synsets.size() + " classes, expected " + NUM_CLASSES);
      }
      return new Table(List.copyOf(synsets), List.copyOf(labels), List.copyOf(names));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
