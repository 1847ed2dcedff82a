package io.resttf.spark;

import io.resttf.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.SparkException;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What the {@code spark-classify}, {@code spark-embed} and {@code spark-segment} verbs share: the model is checked,
 * then the input and output, before Spark starts; an embedded {@code local[*]} Spark unless {@code --master} (or
 * {@code spark-submit}) says otherwise; a progress line; Parquet written atomically; a summary line.
 */
public abstract class SparkJobCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "the SavedModel export: a model directory (its latest version) or a version directory, as the driver sees it")
  String model;

  @Option(names = "--input", required = true, paramLabel = "SPEC",
      description = "DIR (image files, searched recursively), parquet:PATH (a table with a path and a bytes column) or tfrecord:PATTERN (tf.Example shards)")
  String input;

  @Option(names = "--output", required = true, paramLabel = "PATH", description = "the Parquet output (a directory; must not exist unless --overwrite)")
  String output;

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master (default: spark-submit's, else local[*]); local[N], local-cluster[E,C,MB], spark://..., yarn, k8s://...")
  String master;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "images per model call (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
      description = "TensorFlow intra-op threads per executor JVM (default 1: each task's ops run whole on its own core;"
          + " 0: the executor's cores); its inter-op pool gets the executor's cores")
  int threads;

  @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
      description = "repartition the input into N partitions first (default 0: as read)")
  int partitions;

  @Option(names = "--partition-by", paramLabel = "COL", split = ",", description = "partition the Parquet output by these result columns")
  List<String> partitionBy = new ArrayList<>();

  @Option(names = "--overwrite", description = "replace an existing output (only once the new one is complete)")
  boolean overwrite;

  @Option(names = "--executor-model", paramLabel = "PATH",
      description = "the model's path on the executors when it differs (e.g. ./model after spark-submit --archives model.tgz#model)")
  String executorModel;

  @Option(names = "--path-column", paramLabel = "COL", defaultValue = "path", description = "parquet input: the image name column (default ${DEFAULT-VALUE})")
  String pathColumn;

  @Option(names = "--bytes-column", paramLabel = "COL", defaultValue = "content", description = "parquet input: the encoded image column (default ${DEFAULT-VALUE})")
  String bytesColumn;

  @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "a Spark configuration property (repeatable)")
  List<String> conf = new ArrayList<>();

  /** The verb, for messages. */
  abstract String verb();

  /** Checks the model on the driver (fails before Spark starts). */
  abstract void checkModel(SparkOptions options);

  /** Options of this verb on top of the shared ones. */
  SparkOptions options(SparkOptions shared) {
    return shared;
  }

  /** The job's result table; {@code staging} is where its output is being written. */
  abstract Dataset<Row> build(Dataset<Row> images, SparkOptions options, String staging);

  /** What the summary line calls the rows ("classified", "embedded", "segmented"). */
  abstract String done();

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    SparkOptions options = options(SparkOptions.defaults().withBatchSize(batch).withThreads(threads).withExecutorModelDir(executorModel));
    if (partitions < 0) throw new BadInputException("--partitions " + partitions + ": must be 0 (as read) or positive");
    checkModel(options);
    ImageSources.check(input);
    if (ImageSources.isLocal(output) && Files.exists(Path.of(ImageSources.stripFileScheme(output))) && !overwrite) {
      throw new BadInputException("--output " + output + ": already exists (choose another, or --overwrite)");
    }
    Map<String, String> confs = parseConf();
    quietLogs();
    // under spark-submit, or called from a program with its own Spark: that session; else one of our own
    SparkSession active = SparkSession.getActiveSession().isDefined() && !SparkSession.getActiveSession().get().sparkContext().isStopped()
        ? SparkSession.getActiveSession().get() : null;
    SparkSession spark = active != null ? active : session(confs);
    try {
      Dataset<Row> images = input.startsWith(ImageSources.PARQUET_PREFIX)
          ? ImageSources.table(spark.read().parquet(input.substring(ImageSources.PARQUET_PREFIX.length())), pathColumn, bytesColumn)
          : ImageSources.read(spark, input);
      if (partitions > 0) images = images.repartition(partitions);
      // counting a folder or a table reads no image bytes; TFRecord shards would have to be read twice
      long total = input.startsWith(ImageSources.TFRECORD_PREFIX) ? -1 : images.count();
      Dataset<Row> in = images;
      RestTfSpark.Written w;
      try (SparkProgress progress = new SparkProgress(spark.sparkContext(), verb(), total, err, 5000)) {
        w = RestTfSpark.write(spark, output, partitionBy, overwrite, staging -> build(in, options, staging));
      }
      out.printf(Locale.ROOT, "%s: %s %,d images (%,d with an error) in %.1f s, %.1f images/s, on %s -> %s (Parquet)%n", verb(), done(),
          w.rows(), w.errors(), w.seconds(), w.rows() / Math.max(1e-9, w.seconds()), spark.sparkContext().master(), output);
      return 0;
    } catch (Exception e) {
      // Scala throws checked exceptions undeclared: a path Spark cannot find, a failed job
      if (e instanceof AnalysisException) throw new BadInputException(firstLine(e.getMessage()), e);
      if (e instanceof SparkException || e.getCause() instanceof SparkException) throw jobFailure(e);
      if (e instanceof RuntimeException r) throw r;
      throw new IllegalStateException(firstLine(e.getMessage()), e);
    } finally {
      if (active == null) spark.stop();
    }
  }

  private SparkSession session(Map<String, String> confs) {
    SparkSession.Builder b = SparkSession.builder().appName("rest-tf " + verb());
    String m = master != null ? master : System.getProperty("spark.master", confs.getOrDefault("spark.master", "local[*]"));
    b.master(m);
    // Spark's console bar would garble our progress lines
    b.config("spark.ui.showConsoleProgress", "false");
    if (m.startsWith("local")) {
      // an embedded Spark needs no web UI, and talks to itself on the loopback interface
      b.config("spark.ui.enabled", "false");
      b.config("spark.driver.host", "127.0.0.1");
      b.config("spark.driver.bindAddress", "127.0.0.1");
    }
    if (m.startsWith("local-cluster")) {
      // executors are JVMs started by Spark's launcher: our class path, and a Spark home it accepts
      b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"));
      if (System.getenv("SPARK_HOME") == null || System.getenv("SPARK_SCALA_VERSION") == null) {
        throw new BadInputException("--master " + m + ": needs SPARK_HOME (a folder with a jars/ folder) and SPARK_SCALA_VERSION=2.13 in the"
            + " environment (bin/rest-tf sets both)");
      }
    }
    confs.forEach(b::config);
    return b.getOrCreate();
  }

  private Map<String, String> parseConf() {
    Map<String, String> m = new LinkedHashMap<>();
    for (String c : conf) {
      int eq = c.indexOf('=');
      if (eq <= 0 || !c.substring(0, eq).startsWith("spark.")) {
        throw new BadInputException("--conf " + c + ": expected spark.KEY=VALUE");
      }
      m.put(c.substring(0, eq), c.substring(eq + 1));
    }
    return m;
  }

  /** Hadoop's "no native library" warning says nothing a user can act on; Spark's INFO lines are noise here. */
  private static void quietLogs() {
    String prefix = "org.slf4j.simpleLogger.log.";
    for (String[] l : new String[][] {{"org.apache.hadoop.util.NativeCodeLoader", "error"}, {"org.apache.spark", "warn"}, {"org.sparkproject", "warn"}}) {
      if (System.getProperty(prefix + l[0]) == null) System.setProperty(prefix + l[0], l[1]);
    }
  }

  /** A failed job as one line: the image-level cause when there is one, else the deepest cause's first line. */
  static RuntimeException jobFailure(Throwable e) {
    Throwable root = e;
    for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof BadInputException b) return b;
      root = c;
    }
    return new IllegalStateException("Spark job failed: " + firstLine(root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage()), e);
  }

  static String firstLine(String s) {
    if (s == null) return "unknown error";
    String t = s.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl).strip();
  }
}
