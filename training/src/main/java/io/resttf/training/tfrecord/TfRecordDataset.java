package io.resttf.training.tfrecord;

import io.resttf.tensor.BadInputException;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.Image;
import io.resttf.training.data.ImageFolder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * TFRecord shards of {@link ImageExample}s as a {@link Dataset}: one pass over the files indexes every record
 * (file, offset, length, label, filename; both CRCs checked), after which any record is read by position
 * (thread-safe positional reads) and decoded with the same decoder as an image folder. Records are ordered by
 * (label, {@code image/filename}) when every record has a filename, as an {@link ImageFolder} orders its files:
 * the shards {@code data to-tfrecord} writes from a folder then present exactly that folder's images in its
 * order, however they were sharded or shuffled, so training from them reproduces training from the folder.
 * Without filenames the order is the files' (sorted by path) and the records' within each.
 */
public final class TfRecordDataset implements Dataset, AutoCloseable {
  private record Entry(int file, long offset, int length, int label, String filename, long index) {}

  private final List<Path> files;
  private final List<FileChannel> channels = new ArrayList<>();
  private final List<Entry> entries;
  private final List<String> classes;
  private final int inChans;
  private final long maxPixels;

  private TfRecordDataset(List<Path> files, List<Entry> entries, List<String> classes, int inChans, long maxPixels)
      throws IOException {
    this.files = files;
    this.entries = entries;
    this.classes = classes;
    this.inChans = inChans;
    this.maxPixels = maxPixels;
    for (Path f : files) channels.add(FileChannel.open(f));
  }

  /**
   * The files {@code pattern} matches: a glob in its last component ({@code records/train-*.tfrecord}) or one
   * file; classes from a {@code classes.txt} beside them, else from the records' {@code image/class/text}.
   */
  public static TfRecordDataset open(String pattern, int inChans, long maxPixels) {
    List<Path> files = match(pattern);
    List<Entry> entries = new ArrayList<>();
    TreeMap<Integer, String> texts = new TreeMap<>();
    boolean allNamed = true;
    for (int f = 0; f < files.size(); f++) {
      Path file = files.get(f);
      try (TfRecords.Reader r = new TfRecords.Reader(file)) {
        long offset = 0;
        while (r.hasNext()) {
          long index = r.index();
          byte[] rec = r.next();
          ImageExample e = ImageExample.parse(rec, file + ": record " + index);
          if (e.label() < 0 || e.label() > Integer.MAX_VALUE) {
            throw new BadInputException(file + ": record " + index + ": no " + ImageExample.LABEL + " (training needs labels)");
          }
          if (e.text() != null) texts.putIfAbsent((int) e.label(), e.text());
          allNamed &= e.filename() != null;
          entries.add(new Entry(f, offset + 12, rec.length, (int) e.label(), e.filename(), index));
          offset += 16L + rec.length;
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    if (entries.isEmpty()) throw new BadInputException(pattern + ": no records");
    Comparator<Entry> order = allNamed
        ? Comparator.comparingInt(Entry::label).thenComparing(Entry::filename)
        : Comparator.comparingInt(Entry::file).thenComparingLong(Entry::index);
    entries.sort(order);
    List<String> classes = classes(files.get(0).getParent(), texts, entries);
    try {
      return new TfRecordDataset(files, entries, classes, inChans, maxPixels);
    } catch (IOException e) {
      throw new BadInputException(pattern + ": cannot open (" + io.resttf.util.ErrorText.reason(e) + ")");
    }
  }

  /** The files a pattern names: one file, or a glob in its last component, sorted; a clear error when none. */
  public static List<Path> match(String pattern) {
    Path p = Path.of(pattern);
    Path dir = p.getParent() == null ? Path.of(".") : p.getParent();
    String last = p.getFileName().toString();
    if (!last.contains("*") && !last.contains("?") && !last.contains("[") && !last.contains("{")) {
      if (!Files.isRegularFile(p)) throw new BadInputException(pattern + ": no such file");
      return List.of(p);
    }
    if (!Files.isDirectory(dir)) throw new BadInputException(dir + ": no such directory (in " + pattern + ")");
    PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + last);
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> out = s.filter(x -> Files.isRegularFile(x) && m.matches(x.getFileName())).sorted().toList();
      if (out.isEmpty()) throw new BadInputException(pattern + ": matches no file");
      return out;
    } catch (IOException e) {
      throw new BadInputException(dir + ": cannot list (" + io.resttf.util.ErrorText.reason(e) + ")");
    }
  }

  private static List<String> classes(Path dir, TreeMap<Integer, String> texts, List<Entry> entries) {
    int max = entries.stream().mapToInt(Entry::label).max().orElse(0);
    Path txt = dir == null ? Path.of("classes.txt") : dir.resolve("classes.txt");
    if (Files.isRegularFile(txt)) {
      try {
        List<String> c = Files.readAllLines(txt).stream().filter(l -> !l.isBlank()).toList();
        if (c.size() <= max) throw new BadInputException(txt + ": " + c.size() + " classes, but a record has label " + max);
        return c;
      } catch (IOException e) {
        throw new BadInputException(txt + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")");
      }
    }
    List<String> c = new ArrayList<>();
    for (int i = 0; i <= max; i++) c.add(texts.getOrDefault(i, String.valueOf(i)));
    return c;
  }

  @Override
  public int size() {
    return entries.size();
  }

  @Override
  public List<String> classes() {
    return classes;
  }

  @Override
  public int label(int i) {
    return entries.get(i).label();
  }

  @Override
  public String describe(int i) {
    Entry e = entries.get(i);
    return files.get(e.file()) + ": record " + e.index() + (e.filename() == null ? "" : " (" + e.filename() + ")");
  }

  @Override
  public Image image(int i) throws DecodeException {
    return ImageFolder.decode(encoded(i), describe(i), inChans, maxPixels);
  }

  /** The record's image/encoded bytes, read by position with its data CRC checked. */
  @Override
  public byte[] encoded(int i) throws DecodeException {
    Entry e = entries.get(i);
    byte[] data = new byte[e.length()];
    ByteBuffer crc = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    try {
      FileChannel ch = channels.get(e.file());
      ByteBuffer b = ByteBuffer.wrap(data);
      long pos = e.offset();
      while (b.hasRemaining()) {
        int n = ch.read(b, pos);
        if (n < 0) throw new DecodeException(describe(i) + ": truncated (the file changed since it was indexed)");
        pos += n;
      }
      while (crc.hasRemaining()) {
        int n = ch.read(crc, pos);
        if (n < 0) throw new DecodeException(describe(i) + ": truncated (the file changed since it was indexed)");
        pos += n;
      }
    } catch (IOException ex) {
      throw new DecodeException(describe(i) + ": cannot read (" + ex.getMessage() + ")");
    }
    if (crc.getInt(0) != TfRecords.masked(data, 0, data.length)) {
      throw new DecodeException(describe(i) + ": corrupted record data (CRC mismatch)");
    }
    try {
      return ImageExample.parse(data, describe(i)).encoded();
    } catch (BadInputException ex) {
      throw new DecodeException(ex.getMessage());
    }
  }

  @Override
  public void close() {
    for (FileChannel c : channels) {
      try {
        c.close();
      } catch (IOException e) {
        // read-only: nothing to lose
      }
    }
  }
}
