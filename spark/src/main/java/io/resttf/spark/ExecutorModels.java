package io.resttf.spark;

import io.resttf.serving.RestClassifier;
import io.resttf.serving.RestSegmenter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import io.resttf.util.ThreadPools;

/**
 * One loaded model per executor JVM: the first task that needs an export loads it, every later task of the
 * JVM (and concurrent ones) shares it, and it is closed when the JVM exits. TF's CPU thread pools are sized
 * once per process, so the first load also fixes them to the executor's cores: the tasks running at once on
 * an executor then share one pool instead of each spreading over every core of the machine.
 */
final class ExecutorModels {
  private static final Map<String, AutoCloseable> MODELS = new ConcurrentHashMap<>();
  private static boolean poolsSized;
  private static boolean hookAdded;

  private ExecutorModels() {}

  static RestClassifier classifier(String dir, ExecutorThreads threads) {
    return (RestClassifier) load("classify:" + dir, threads, () -> RestClassifier.open(Path.of(dir)));
  }

  static RestSegmenter segmenter(String dir, ExecutorThreads threads) {
    return (RestSegmenter) load("segment:" + dir, threads, () -> RestSegmenter.open(Path.of(dir)));
  }

  private static synchronized AutoCloseable load(String key, ExecutorThreads threads,
      java.util.function.Supplier<AutoCloseable> open) {
    AutoCloseable m = MODELS.get(key);
    if (m != null) return m;
    sizePools(threads);
    m = open.get();
    MODELS.put(key, m);
    if (!hookAdded) {
      hookAdded = true;
      Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "rest-tf-spark-models"));
    }
    return m;
  }

  /** Sizes TF's intra- and inter-op pools, before the JVM's first model load. */
  private static void sizePools(ExecutorThreads threads) {
    if (poolsSized || threads.intraOp() <= 0) return;
    poolsSized = true;
    ThreadPools.size(threads.intraOp(), threads.interOp());
  }

  private static synchronized void closeAll() {
    for (AutoCloseable m : MODELS.values()) {
      try {
        m.close();
      } catch (Exception e) {
        // the JVM is exiting: nothing left to tell
      }
    }
    MODELS.clear();
  }
}
