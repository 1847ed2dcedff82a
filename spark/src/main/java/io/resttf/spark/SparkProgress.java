package io.resttf.spark;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A progress line from Spark's listener bus: every finished task reports how many images it did (the
 * {@link RestTfSpark#IMAGES_ACCUMULATOR} accumulator), and at most every {@code everyMillis} one whole line goes
 * to {@code err}: images done (of the total, when known), images/s since the start, and the time left at that
 * rate. Whole lines, not a redrawn bar: jobs run in logs more often than on terminals.
 */
public final class SparkProgress extends SparkListener implements AutoCloseable {
  private final SparkContext context;
  private final String verb;
  private final long total;
  private final PrintWriter err;
  private final long everyMillis;
  private final long start = System.nanoTime();
  private final AtomicLong done = new AtomicLong();
  private volatile long lastPrint = System.nanoTime();

  /** Starts listening; {@code total} is the number of images, or -1 when unknown (then no ETA). */
  public SparkProgress(SparkContext context, String verb, long total, PrintWriter err, long everyMillis) {
    this.context = context;
    this.verb = verb;
    this.total = total;
    this.err = err;
    this.everyMillis = everyMillis;
    context.addSparkListener(this);
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
    if (taskEnd.taskInfo() == null || !taskEnd.taskInfo().successful()) return;
    long n = 0;
    for (AccumulableInfo a : CollectionConverters.asJava(taskEnd.taskInfo().accumulables())) {
      if (a.name().isDefined() && RestTfSpark.IMAGES_ACCUMULATOR.equals(a.name().get()) && a.update().isDefined()
          && a.update().get() instanceof Long v) {
        n += v;
      }
    }
    if (n == 0) return;
    long d = done.addAndGet(n);
    long now = System.nanoTime();
    if ((now - lastPrint) / 1_000_000 >= everyMillis) {
      lastPrint = now;
      err.println(line(d, now));
      err.flush();
    }
  }

  /** Images the finished tasks did so far. */
  public long done() {
    return done.get();
  }

  String line(long d, long now) {
    double seconds = Math.max(1e-9, (now - start) / 1e9);
    double rate = d / seconds;
    StringBuilder s = new StringBuilder(verb).append(": ").append(String.format(Locale.ROOT, "%,d", d));
    if (total >= 0) {
      s.append(String.format(Locale.ROOT, " / %,d images (%d %%)", total, total == 0 ? 100 : Math.min(100, d * 100 / total)));
    } else {
      s.append(" images");
    }
    s.append(String.format(Locale.ROOT, ", %.1f images/s", rate));
    if (total >= 0 && rate > 0 && d < total) s.append(", ETA ").append(duration((total - d) / rate));
    return s.toString();
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    if (s < 60) return s + "s";
    if (s < 3600) return (s / 60) + "m " + String.format(Locale.ROOT, "%02d", s % 60) + "s";
    return (s / 3600) + "h " + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
  }

  @Override
  public void close() {
    context.removeSparkListener(this);
  }
}
