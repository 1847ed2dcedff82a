package io.resttf.spark;

import io.resttf.serving.RestClassifier;
import io.resttf.serving.RestClassifier.ImageInput;
import io.resttf.serving.RestSegmenter;
import io.resttf.serving.SavedModelExporter;
import io.resttf.serving.SegmentationPictures;
import io.resttf.serving.ServingSignatures;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.util.ErrorText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.UUID;
import java.util.function.Function;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * rest-tf SavedModels over Spark tables of images ({@link ImageSources}: {@code path}, {@code content}).
 *
 * <p>Each call checks the model on the driver first (a missing or wrong export fails before any task runs),
 * then maps every partition: the executor JVM's one shared model ({@link ExecutorModels}) runs the images in
 * batches of {@link SparkOptions#batchSize()}. An image that cannot be read or decoded becomes a row with an
 * {@code error} and empty results; the job goes on. Every result row carries the export's
 * {@code model_version}. The returned tables are lazy: nothing runs until they are written or collected
 * ({@link #write} writes Parquet atomically).
 */
public final class RestTfSpark {
  public static final String PATH = ImageSources.PATH;
  public static final String ERROR = "error";
  public static final String MODEL_VERSION = "model_version";
  public static final String LABEL = "label";
  public static final String PROBABILITY = "probability";
  public static final String TOP_LABELS = "top_labels";
  public static final String TOP_PROBABILITIES = "top_probabilities";
  public static final String TOP_INDICES = "top_indices";
  /** Global average of stage 4's feature map (the classifier head's input before its norm). */
  public static final String EMBEDDING = "embedding";
  public static final String WIDTH = "width";
  public static final String HEIGHT = "height";
  public static final String CLASS_AREAS = "class_areas";
  public static final String MASK_FILE = "mask_file";
  /** The accumulator counting images done, which {@link SparkProgress} reads from finished tasks. */
  public static final String IMAGES_ACCUMULATOR = "rest-tf images";

  private RestTfSpark() {}

  /** Output of {@link #classify}. */
  public static final StructType CLASSIFY_SCHEMA = new StructType(new StructField[] {
      field(PATH, DataTypes.StringType, false),
      field(LABEL, DataTypes.StringType, true),
      field(PROBABILITY, DataTypes.FloatType, true),
      field(TOP_LABELS, DataTypes.createArrayType(DataTypes.StringType, false), true),
      field(TOP_PROBABILITIES, DataTypes.createArrayType(DataTypes.FloatType, false), true),
      field(TOP_INDICES, DataTypes.createArrayType(DataTypes.IntegerType, false), true),
      field(MODEL_VERSION, DataTypes.LongType, true),
      field(ERROR, DataTypes.StringType, true)});

  /** One class's share of a segmented image (entries of {@link #CLASS_AREAS}, largest first, present classes only). */
  public static final StructType CLASS_AREA = new StructType(new StructField[] {
      field("index", DataTypes.IntegerType, false),
      field(LABEL, DataTypes.StringType, false),
      field("pixels", DataTypes.LongType, false),
      field("fraction", DataTypes.DoubleType, false)});

  /** Output of {@link #segment}. */
  public static final StructType SEGMENT_SCHEMA = new StructType(new StructField[] {
      field(PATH, DataTypes.StringType, false),
      field(WIDTH, DataTypes.IntegerType, true),
      field(HEIGHT, DataTypes.IntegerType, true),
      field(CLASS_AREAS, DataTypes.createArrayType(CLASS_AREA, false), true),
      field(MASK_FILE, DataTypes.StringType, true),
      field(MODEL_VERSION, DataTypes.LongType, true),
      field(ERROR, DataTypes.StringType, true)});

  /** Output of {@link #embed}: {@code embedding}, and with multi-scale {@code embedding_stage1..3} before it. */
  public static StructType embedSchema(boolean multiScale) {
    List<StructField> f = new ArrayList<>();
    f.add(field(PATH, DataTypes.StringType, false));
    if (multiScale) for (int s = 1; s <= 3; s++) f.add(field(stageEmbedding(s), DataTypes.createArrayType(DataTypes.FloatType, false), true));
    f.add(field(EMBEDDING, DataTypes.createArrayType(DataTypes.FloatType, false), true));
    f.add(field(MODEL_VERSION, DataTypes.LongType, true));
    f.add(field(ERROR, DataTypes.StringType, true));
    return new StructType(f.toArray(StructField[]::new));
  }

  /** Column of stage {@code s}'s (1..3) pooled features in multi-scale embeddings. */
  public static String stageEmbedding(int s) {
    return EMBEDDING + "_stage" + s;
  }

  // ------------------------------------------------------------------------------------------ jobs

  /** Top-k classes of each image through the export's {@code classify_images} (its own preprocessing). */
  public static Dataset<Row> classify(Dataset<Row> images, String modelDir, SparkOptions options) {
    SparkModel m = SparkModel.resolve(modelDir, SavedModelExporter.TASK_CLASSIFICATION, ServingSignatures.CLASSIFY_IMAGES, options.executorModelDir());
    ExecutorThreads threads = threads(images.sparkSession(), options);
    int k = options.topK();
    Long version = m.version();
    BatchFunction f = batch -> {
      RestClassifier c = ExecutorModels.classifier(m.executorDir(), threads);
      List<RestClassifier.ImageResult> results = c.classifyEach(inputs(batch));
      List<Row> out = new ArrayList<>(batch.size());
      for (int i = 0; i < batch.size(); i++) {
        RestClassifier.ImageResult r = results.get(i);
        if (!r.ok()) {
          out.add(RowFactory.create(batch.get(i).path(), null, null, null, null, null, version, r.error()));
          continue;
        }
        List<RestClassifier.Prediction> top = c.top(r.classification().probabilities(), k);
        List<String> labels = new ArrayList<>();
        List<Float> probs = new ArrayList<>();
        List<Integer> idx = new ArrayList<>();
        for (RestClassifier.Prediction p : top) {
          labels.add(p.label());
          probs.add(p.probability());
          idx.add(p.index());
        }
        out.add(RowFactory.create(batch.get(i).path(), labels.get(0), probs.get(0), seq(labels), seq(probs), seq(idx), version, null));
      }
      return out;
    };
    return map(images, CLASSIFY_SCHEMA, options.batchSize(), f,
        (path, error) -> RowFactory.create(path, null, null, null, null, null, version, error));
  }

  /**
   * Embeddings of each image: the export's preprocessing, its {@code features} signature, and each stage's
   * feature map averaged over height and width (stage 4; with {@link SparkOptions#multiScale()} stages 1-3 too).
   */
  public static Dataset<Row> embed(Dataset<Row> images, String modelDir, SparkOptions options) {
    SparkModel m = SparkModel.resolve(modelDir, SavedModelExporter.TASK_CLASSIFICATION, ServingSignatures.FEATURES, options.executorModelDir());
    ExecutorThreads threads = threads(images.sparkSession(), options);
    boolean multi = options.multiScale();
    Long version = m.version();
    StructType schema = embedSchema(multi);
    BatchFunction f = batch -> {
      RestClassifier c = ExecutorModels.classifier(m.executorDir(), threads);
      List<ImageInput> in = inputs(batch);
      List<Row> out = new ArrayList<>(batch.size());
      List<List<float[]>> pooled;
      try {
        pooled = pooledFeatures(c, in);
      } catch (BadInputException e) {
        // one image spoilt the batch: each on its own account
        for (int i = 0; i < batch.size(); i++) {
          try {
            out.add(embedRow(batch.get(i).path(), pooledFeatures(c, List.of(in.get(i))).get(0), multi, version));
          } catch (BadInputException one) {
            out.add(failed(schema, batch.get(i).path(), version, one.getMessage()));
          }
        }
        return out;
      }
      for (int i = 0; i < batch.size(); i++) out.add(embedRow(batch.get(i).path(), pooled.get(i), multi, version));
      return out;
    };
    return map(images, schema, options.batchSize(), f, (path, error) -> failed(schema, path, version, error));
  }

  /**
   * Semantic segmentation of each image through a segmentation export ({@link RestSegmenter}: mmseg's test
   * pipeline, whole or slide, optional flip): image size, the area of each class present, and with
   * {@link SparkOptions#masksDir()} the class map as a PNG there (pixel value = class index), named in
   * {@code mask_file} relative to that folder.
   */
  public static Dataset<Row> segment(Dataset<Row> images, String modelDir, SparkOptions options) {
    SparkModel m = SparkModel.resolve(modelDir, SavedModelExporter.TASK_SEGMENTATION, ServingSignatures.SEGMENT_IMAGES, options.executorModelDir());
    ExecutorThreads threads = threads(images.sparkSession(), options);
    Long version = m.version();
    List<String> labels = m.labels();
    BatchFunction f = batch -> {
      RestSegmenter s = ExecutorModels.segmenter(m.executorDir(), threads);
      List<Row> out = new ArrayList<>(batch.size());
      for (Input img : batch) {
        RestSegmenter.Segmentation seg;
        try {
          seg = s.segment(img.content(), options.mode(), options.crop(), options.stride(), options.flip());
        } catch (BadInputException e) {
          out.add(RowFactory.create(img.path(), null, null, null, null, version, e.getMessage()));
          continue;
        }
        String mask = options.masksDir() == null ? null : writeMask(options.masksDir(), img.path(), seg, labels.size());
        out.add(RowFactory.create(img.path(), seg.width(), seg.height(), classAreas(seg, labels), mask, version, null));
      }
      return out;
    };
    return map(images, SEGMENT_SCHEMA, options.batchSize(), f,
        (path, error) -> RowFactory.create(path, null, null, null, null, version, error));
  }

  // --------------------------------------------------------------------------------- writing

  /** What {@link #write} wrote: rows, how many of them carry an error, and the time it took. */
  public record Written(String output, long rows, long errors, double seconds) {}

  /**
   * Writes a job's result as Parquet at {@code output}, all or nothing: the job writes into a folder
   * {@code OUTPUT.incomplete-UUID} beside it ({@code build} gets its path, so files a job writes itself, such as
   * masks, land in it too), which is renamed to {@code output} once every task has succeeded; a failed job
   * leaves nothing behind. An existing {@code output} is an error unless {@code overwrite}, which replaces it only after the
   * new result is complete.
   *
   * @param partitionBy columns to partition the Parquet files by (atomic types only), may be empty
   */
  public static Written write(SparkSession spark, String output, List<String> partitionBy, boolean overwrite,
      Function<String, Dataset<Row>> build) {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path out = new Path(output);
    FileSystem fs;
    try {
      fs = out.getFileSystem(conf);
      if (fs.exists(out) && !overwrite) {
        throw new BadInputException(output + ": already exists (choose another output, or overwrite it)");
      }
    } catch (IOException e) {
      throw new BadInputException(output + ": cannot use (" + ErrorText.reason(e) + ")", e);
    }
    Path parent = out.getParent() == null ? new Path(".") : out.getParent();
    // not a hidden name: Spark would not read it back
    Path staging = new Path(parent, out.getName() + ".incomplete-" + UUID.randomUUID());
    boolean done = false;
    try {
      Dataset<Row> result = build.apply(staging.toString());
      checkPartitionColumns(result.schema(), partitionBy);
      result.write().mode(SaveMode.ErrorIfExists).partitionBy(partitionBy.toArray(String[]::new)).parquet(staging.toString());
      Row counts = spark.read().parquet(staging.toString()).agg(functions.count(functions.lit(1)), functions.count(functions.col(ERROR))).first();
      commit(fs, staging, out);
      done = true;
      return new Written(output, counts.getLong(0), counts.getLong(1), (System.nanoTime() - t0) / 1e9);
    } catch (IOException e) {
      throw new BadInputException(output + ": cannot write (" + ErrorText.reason(e) + ")", e);
    } finally {
      if (!done) {
        awaitNoRunningTasks(spark);
        deleteQuietly(fs, staging);
      }
    }
  }

  /**
   * When a job fails, Spark ends it at once, but tasks of its that were already running go on until they
   * finish or notice they were killed, and one may still create files in the staging folder after it was
   * deleted (seen in CI). Waits until no executor has had a running task for 100 ms, at most 10 s.
   */
  private static void awaitNoRunningTasks(SparkSession spark) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    int quietChecks = 0;
    while (quietChecks < 5 && System.nanoTime() < deadline) {
      boolean running = Arrays.stream(spark.sparkContext().statusTracker().getExecutorInfos())
          .anyMatch(e -> e.numRunningTasks() > 0);
      quietChecks = running ? 0 : quietChecks + 1;
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static void commit(FileSystem fs, Path staging, Path out) throws IOException {
    Path old = null;
    if (fs.exists(out)) {
      old = new Path(out.getParent(), "." + out.getName() + ".rest-tf-old-" + UUID.randomUUID());
      if (!fs.rename(out, old)) throw new IOException("cannot move the old " + out + " aside");
    }
    if (!fs.rename(staging, out)) {
      if (old != null) fs.rename(old, out);
      throw new IOException("cannot rename " + staging + " to " + out);
    }
    if (old != null) deleteQuietly(fs, old);
  }

  private static void deleteQuietly(FileSystem fs, Path p) {
    try {
      if (fs.exists(p)) fs.delete(p, true);
    } catch (IOException e) {
      // best effort: a hidden folder left behind is harmless
    }
  }

  private static void checkPartitionColumns(StructType schema, List<String> columns) {
    List<String> names = Arrays.asList(schema.fieldNames());
    for (String c : columns) {
      if (!names.contains(c)) {
        throw new BadInputException("partition column '" + c + "': not in the result (columns: " + String.join(", ", names) + ")");
      }
      DataType t = schema.apply(c).dataType();
      if (t instanceof ArrayType || t instanceof StructType || t instanceof MapType) {
        throw new BadInputException("partition column '" + c + "': a " + t.simpleString() + ", not a single value");
      }
    }
  }

  // --------------------------------------------------------------------------- partitions

  /** An image row of the input: its path, its bytes (null when unreadable) and why it is unreadable. */
  record Input(String path, byte[] content, String readError) implements Serializable {}

  /** Results for a batch of readable images, one row each, in order. */
  @FunctionalInterface
  interface BatchFunction extends Serializable {
    List<Row> apply(List<Input> batch);
  }

  /** The result row of an image that never reached the model. */
  @FunctionalInterface
  interface FailedRow extends Serializable {
    Row of(String path, String error);
  }

  private static Dataset<Row> map(Dataset<Row> images, StructType schema, int batchSize, BatchFunction f, FailedRow failed) {
    Dataset<Row> in = normalise(images);
    LongAccumulator done = images.sparkSession().sparkContext().longAccumulator(IMAGES_ACCUMULATOR);
    MapPartitionsFunction<Row, Row> perPartition = rows -> new Batched(rows, batchSize, f, failed, done);
    return in.mapPartitions(perPartition, Encoders.row(schema));
  }

  /** The input's path, content and read_error columns (read_error null when the input has none). */
  private static Dataset<Row> normalise(Dataset<Row> images) {
    List<String> names = Arrays.asList(images.columns());
    for (String c : List.of(ImageSources.PATH, ImageSources.CONTENT)) {
      if (!names.contains(c)) {
        throw new BadInputException("image table has no column '" + c + "' (it has " + String.join(", ", names)
            + "; ImageSources.table renames yours)");
      }
    }
    DataType content = images.schema().apply(ImageSources.CONTENT).dataType();
    if (!content.equals(DataTypes.BinaryType)) {
      throw new BadInputException("image table column 'content' is " + content.simpleString() + ", not binary");
    }
    return images.select(functions.col(ImageSources.PATH).cast(DataTypes.StringType),
        functions.col(ImageSources.CONTENT),
        names.contains(ImageSources.READ_ERROR) ? functions.col(ImageSources.READ_ERROR).cast(DataTypes.StringType)
            : functions.lit(null).cast(DataTypes.StringType).as(ImageSources.READ_ERROR));
  }

  /**
   * A partition's rows, pulled a batch at a time: unreadable rows get their error row, the others go through
   * {@code f} together; results keep the input order. If {@code f} fails as a whole (it reports image
   * errors per row, so this is the model itself failing), the task fails and Spark retries it.
   */
  private static final class Batched implements Iterator<Row> {
    private final Iterator<Row> rows;
    private final int batchSize;
    private final BatchFunction f;
    private final FailedRow failed;
    private final LongAccumulator done;
    private final ArrayDeque<Row> ready = new ArrayDeque<>();

    Batched(Iterator<Row> rows, int batchSize, BatchFunction f, FailedRow failed, LongAccumulator done) {
      this.rows = rows;
      this.batchSize = batchSize;
      this.f = f;
      this.failed = failed;
      this.done = done;
    }

    @Override
    public boolean hasNext() {
      if (ready.isEmpty() && rows.hasNext()) fill();
      return !ready.isEmpty();
    }

    @Override
    public Row next() {
      if (!hasNext()) throw new NoSuchElementException();
      return ready.poll();
    }

    private void fill() {
      List<Input> batch = new ArrayList<>(batchSize);
      Row[] slots = new Row[batchSize];
      int[] where = new int[batchSize];
      int n = 0;
      while (n < batchSize && rows.hasNext()) {
        Row r = rows.next();
        String path = r.isNullAt(0) ? "(no path)" : r.getString(0);
        byte[] content = r.isNullAt(1) ? null : (byte[]) r.get(1);
        String readError = r.isNullAt(2) ? null : r.getString(2);
        if (readError != null || content == null || content.length == 0) {
          slots[n] = failed.of(path, readError != null ? readError : content == null ? "no image bytes" : "empty file");
        } else {
          where[batch.size()] = n;
          batch.add(new Input(path, content, null));
        }
        n++;
      }
      if (!batch.isEmpty()) {
        List<Row> results = f.apply(batch);
        for (int i = 0; i < batch.size(); i++) slots[where[i]] = results.get(i);
      }
      for (int i = 0; i < n; i++) ready.add(slots[i]);
      done.add(n);
    }
  }

  // ------------------------------------------------------------------------------ helpers

  private static StructField field(String name, DataType type, boolean nullable) {
    return DataTypes.createStructField(name, type, nullable);
  }

  private static List<ImageInput> inputs(List<Input> batch) {
    List<ImageInput> in = new ArrayList<>(batch.size());
    for (Input i : batch) in.add(ImageInput.of(i.path(), i.content()));
    return in;
  }

  private static Row failed(StructType schema, String path, Long version, String error) {
    Object[] v = new Object[schema.size()];
    v[0] = path;
    v[schema.fieldIndex(MODEL_VERSION)] = version;
    v[schema.fieldIndex(ERROR)] = error;
    return RowFactory.create(v);
  }

  /** Per image, the stage maps averaged over height and width (stages 1..4). */
  private static List<List<float[]>> pooledFeatures(RestClassifier c, List<ImageInput> images) {
    HostTensor pixels = c.preprocess(images);
    List<HostTensor> stages = c.features(pixels);
    int b = images.size();
    List<List<float[]>> out = new ArrayList<>(b);
    for (int i = 0; i < b; i++) out.add(new ArrayList<>());
    for (HostTensor s : stages) {
      long[] shape = s.shape();
      int h = (int) shape[1], w = (int) shape[2], ch = (int) shape[3];
      float[] v = s.toFloats();
      for (int i = 0; i < b; i++) {
        double[] sum = new double[ch];
        int base = i * h * w * ch;
        for (int p = 0; p < h * w; p++) for (int k = 0; k < ch; k++) sum[k] += v[base + p * ch + k];
        float[] mean = new float[ch];
        for (int k = 0; k < ch; k++) mean[k] = (float) (sum[k] / (h * w));
        out.get(i).add(mean);
      }
    }
    return out;
  }

  private static Row embedRow(String path, List<float[]> pooled, boolean multi, Long version) {
    List<Object> v = new ArrayList<>();
    v.add(path);
    if (multi) for (int s = 0; s < 3; s++) v.add(boxed(pooled.get(s)));
    v.add(boxed(pooled.get(3)));
    v.add(version);
    v.add(null);
    return RowFactory.create(v.toArray());
  }

  private static scala.collection.Seq<Float> boxed(float[] a) {
    List<Float> l = new ArrayList<>(a.length);
    for (float x : a) l.add(x);
    return seq(l);
  }

  /** Array columns of a Row are Scala sequences. */
  private static <T> scala.collection.Seq<T> seq(List<T> list) {
    return scala.jdk.javaapi.CollectionConverters.asScala(list);
  }

  private static scala.collection.Seq<Row> classAreas(RestSegmenter.Segmentation seg, List<String> labels) {
    long total = (long) seg.width() * seg.height();
    List<Row> out = new ArrayList<>();
    long[] areas = seg.areas();
    Integer[] order = new Integer[areas.length];
    for (int i = 0; i < order.length; i++) order[i] = i;
    Arrays.sort(order, (a, b) -> areas[a] != areas[b] ? Long.compare(areas[b], areas[a]) : Integer.compare(a, b));
    for (int i : order) {
      if (areas[i] == 0) break;
      out.add(RowFactory.create(i, labels.get(i), areas[i], (double) areas[i] / total));
    }
    return seq(out);
  }

  /**
   * Writes an image's class map under {@code dir} (written to a temporary name, then renamed, so a retried or
   * killed task leaves no half-written PNG); returns its file name: the image's base name and a hash of its
   * whole path, so images of the same name in different folders do not collide.
   */
  static String writeMask(String dir, String imagePath, RestSegmenter.Segmentation seg, int numClasses) {
    String name = maskName(imagePath);
    try {
      ByteArrayOutputStream png = new ByteArrayOutputStream();
      ImageIO.write(SegmentationPictures.classMapImage(seg.classMap(), seg.width(), seg.height(), numClasses), "png", png);
      Path target = new Path(dir, name);
      FileSystem fs = target.getFileSystem(new Configuration());
      fs.mkdirs(new Path(dir));
      Path tmp = new Path(dir, "." + name + "." + UUID.randomUUID() + ".tmp");
      try (FSDataOutputStream o = fs.create(tmp, true)) {
        o.write(png.toByteArray());
      }
      if (fs.exists(target)) fs.delete(target, false);
      if (!fs.rename(tmp, target)) throw new IOException("cannot rename " + tmp + " to " + target);
      return name;
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": cannot write mask " + name + " (" + ErrorText.reason(e) + ")", e);
    }
  }

  static String maskName(String imagePath) {
    String base = imagePath.substring(imagePath.lastIndexOf('/') + 1);
    int dot = base.lastIndexOf('.');
    if (dot > 0) base = base.substring(0, dot);
    base = base.replaceAll("[^A-Za-z0-9._-]", "_");
    if (base.length() > 80) base = base.substring(0, 80);
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(imagePath.getBytes(StandardCharsets.UTF_8));
      return base + "-" + HexFormat.of().formatHex(h, 0, 6) + ".png";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * TF's pools per executor JVM: intra-op threads from the option, else the executor's cores; inter-op threads
   * the executor's cores (its concurrent tasks), else the intra-op count. 0 leaves TF's default (every core).
   */
  static ExecutorThreads threads(SparkSession spark, SparkOptions options) {
    int cores = executorCores(spark);
    int intra = options.threads() > 0 ? options.threads() : cores;
    return new ExecutorThreads(intra, cores > 0 ? cores : intra);
  }

  /**
   * An executor's cores: {@code spark.executor.cores}, or the cores of a {@code local[N]} /
   * {@code local-cluster[n,C,m]} master; 0 when unknown.
   */
  static int executorCores(SparkSession spark) {
    var conf = spark.sparkContext().getConf();
    if (conf.contains("spark.executor.cores")) return conf.getInt("spark.executor.cores", 0);
    String master = spark.sparkContext().master();
    var local = java.util.regex.Pattern.compile("local\\[(\\d+|\\*)(,\\d+)?\\]").matcher(master);
    if (local.matches()) return local.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(local.group(1));
    if (master.equals("local")) return 1;
    var cluster = java.util.regex.Pattern.compile("local-cluster\\[\\s*\\d+\\s*,\\s*(\\d+)\\s*,\\s*\\d+\\s*\\]").matcher(master);
    if (cluster.matches()) return Integer.parseInt(cluster.group(1));
    return 0;
  }

  static String describe(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }
}
