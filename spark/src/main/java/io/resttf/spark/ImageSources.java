package io.resttf.spark;

import io.resttf.tensor.BadInputException;
import io.resttf.training.tfrecord.ImageExample;
import io.resttf.training.tfrecord.TfRecordDataset;
import io.resttf.training.tfrecord.TfRecords;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Tables of images the jobs read: {@code path} (string) and {@code content} (binary, the encoded file), one
 * row per image, from an image folder (Spark's {@code binaryFile} source), a Parquet table with a bytes
 * column, or TFRecord shards of tf.Example ({@code image/encoded}, named by {@code image/filename}).
 */
public final class ImageSources {
  public static final String PATH = "path";
  public static final String CONTENT = "content";
  /** The file names a folder input takes (case-insensitive): the formats the exports' graphs decode. */
  public static final String IMAGE_GLOB = "*.{jpg,jpeg,png,gif,bmp,JPG,JPEG,PNG,GIF,BMP,Jpg,Jpeg,Png}";
  public static final String PARQUET_PREFIX = "parquet:";
  public static final String TFRECORD_PREFIX = "tfrecord:";

  /** Optional input column: why a row has no image (a damaged record); the job passes it on as the row's error. */
  public static final String READ_ERROR = "read_error";

  static final StructType SCHEMA = new StructType(new StructField[] {
      DataTypes.createStructField(PATH, DataTypes.StringType, false),
      DataTypes.createStructField(CONTENT, DataTypes.BinaryType, true),
      DataTypes.createStructField(READ_ERROR, DataTypes.StringType, true)});

  private ImageSources() {}

  /**
   * Reads {@code spec}: {@code DIR} (an image folder, searched recursively), {@code parquet:PATH} (a table
   * with columns {@code path} and {@code content}; other names through {@link #table}) or
   * {@code tfrecord:PATTERN} (shards of tf.Example; a glob in the last path element).
   */
  public static Dataset<Row> read(SparkSession spark, String spec) {
    if (spec == null || spec.isBlank()) throw new BadInputException("--input: empty");
    if (spec.startsWith(TFRECORD_PREFIX)) return tfRecords(spark, spec.substring(TFRECORD_PREFIX.length()));
    if (spec.startsWith(PARQUET_PREFIX)) return table(spark.read().parquet(requireLocalOrRemote(spec.substring(PARQUET_PREFIX.length()), "Parquet table")), PATH, CONTENT);
    return folder(spark, spec);
  }

  /** Checks what can be checked of {@code spec} without Spark: local paths exist (remote ones are Spark's to find). */
  public static void check(String spec) {
    if (spec == null || spec.isBlank()) throw new BadInputException("--input: empty");
    if (spec.startsWith(TFRECORD_PREFIX)) {
      String pattern = spec.substring(TFRECORD_PREFIX.length());
      if (isLocal(pattern)) TfRecordDataset.match(stripFileScheme(pattern));
    } else if (spec.startsWith(PARQUET_PREFIX)) {
      requireLocalOrRemote(spec.substring(PARQUET_PREFIX.length()), "Parquet table");
    } else {
      requireLocalOrRemote(spec, "image folder");
      if (isLocal(spec) && !Files.isDirectory(Path.of(stripFileScheme(spec)))) {
        throw new BadInputException(spec + ": not a directory (an image folder, parquet:TABLE or tfrecord:PATTERN)");
      }
    }
  }

  /** Every image file under {@code dir} (recursively; see {@link #IMAGE_GLOB}). */
  public static Dataset<Row> folder(SparkSession spark, String dir) {
    check(dir);
    Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
        .option("pathGlobFilter", IMAGE_GLOB).load(dir);
    return imagePartitions(files.select(functions.col(PATH), functions.col(CONTENT)), files.inputFiles().length);
  }

  /** Most images in one partition of a folder input (a task's worth of work, and of progress). */
  public static final int MAX_IMAGES_PER_PARTITION = 4096;

  /**
   * Spark packs small files into partitions as if each cost 4 MB to open: 10,000 Fashion-MNIST PNGs become
   * 313 tasks of 32 images, and at that size the per-task cost halves the throughput (measured: 505 vs 790
   * images/s on local[2]). Images are better cut into a few partitions per core (4 × the default parallelism),
   * of at most {@link #MAX_IMAGES_PER_PARTITION} images; without a shuffle (coalesce).
   */
  static Dataset<Row> imagePartitions(Dataset<Row> images, long count) {
    int parallelism = images.sparkSession().sparkContext().defaultParallelism();
    long target = Math.max(4L * parallelism, (count + MAX_IMAGES_PER_PARTITION - 1) / MAX_IMAGES_PER_PARTITION);
    int now = images.rdd().getNumPartitions();
    return now > target ? images.coalesce((int) target) : images;
  }

  /** A table's image rows: {@code pathColumn} (any type, as a string) and {@code bytesColumn} (binary). */
  public static Dataset<Row> table(Dataset<Row> table, String pathColumn, String bytesColumn) {
    List<String> names = List.of(table.columns());
    for (String c : List.of(pathColumn, bytesColumn)) {
      if (!names.contains(c)) throw new BadInputException("input table has no column '" + c + "' (it has " + String.join(", ", names) + ")");
    }
    var type = table.schema().apply(bytesColumn).dataType();
    if (!type.equals(DataTypes.BinaryType)) {
      throw new BadInputException("input column '" + bytesColumn + "' is " + type.simpleString() + ", not binary (the encoded image files)");
    }
    return table.select(functions.col(pathColumn).cast(DataTypes.StringType).as(PATH), functions.col(bytesColumn).as(CONTENT));
  }

  /**
   * The images of TFRecord shards: one row per record, named by its {@code image/filename} or, without one,
   * {@code SHARD#INDEX}. Shards are listed on the driver and read one per task (local or shared file system
   * paths). A record that is not a tf.Example with {@code image/encoded}, or a shard whose framing breaks
   * (then the rest of it cannot be read), becomes a row with a {@link #READ_ERROR}, which the job reports as
   * that row's error.
   */
  public static Dataset<Row> tfRecords(SparkSession spark, String pattern) {
    List<Path> shards = TfRecordDataset.match(stripFileScheme(pattern));
    List<String> names = new ArrayList<>();
    for (Path p : shards) names.add(p.toAbsolutePath().toString());
    JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext())
        .parallelize(names, Math.max(1, names.size()))
        .flatMap(ImageSources::records);
    return spark.createDataFrame(rows, SCHEMA);
  }

  private static Iterator<Row> records(String shard) {
    List<Row> out = new ArrayList<>();
    TfRecords.Reader r;
    try {
      r = new TfRecords.Reader(Path.of(shard));
    } catch (BadInputException e) {
      out.add(RowFactory.create(shard, null, e.getMessage()));
      return out.iterator();
    }
    try (r) {
      while (true) {
        long index = r.index();
        String where = shard + "#" + index;
        byte[] record;
        try {
          if (!r.hasNext()) break;
          record = r.next();
        } catch (BadInputException e) {
          out.add(RowFactory.create(where, null, e.getMessage() + " (the rest of the shard is not read)"));
          break;
        }
        try {
          ImageExample e = ImageExample.parse(record, where);
          out.add(RowFactory.create(e.filename() != null && !e.filename().isEmpty() ? e.filename() : where, e.encoded(), null));
        } catch (BadInputException e) {
          out.add(RowFactory.create(where, null, e.getMessage()));
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.iterator();
  }

  private static String requireLocalOrRemote(String path, String what) {
    if (isLocal(path) && !Files.exists(Path.of(stripFileScheme(path)))) {
      throw new BadInputException(path + ": no such " + what);
    }
    return path;
  }

  /** Whether {@code path} is on this machine's file system (no scheme, or file:). */
  static boolean isLocal(String path) {
    return !path.matches("^[a-zA-Z][a-zA-Z0-9+.-]+:.*") || path.startsWith("file:");
  }

  static String stripFileScheme(String path) {
    return path.startsWith("file://") ? path.substring(7) : path.startsWith("file:") ? path.substring(5) : path;
  }
}
