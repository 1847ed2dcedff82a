package io.resttf.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.Test;

/**
 * The same jobs on Spark's local-cluster master: a standalone master and two workers in this JVM, each
 * starting its own executor JVM (one core, 1 GB), so the model is shipped as a path, loaded once per executor
 * JVM and the rows travel between processes, as on a cluster.
 */
class LocalClusterTest {
  @Test
  void twoExecutorJvmsGiveTheJavaApiAnswers() throws Exception {
    SparkSession spark = SparkTestData.session("local-cluster[2,1,1024]");
    try {
      // executors register asynchronously; wait for both before the job so that both get tasks
      long deadline = System.nanoTime() + 120_000_000_000L;
      while (spark.sparkContext().statusTracker().getExecutorInfos().length < 3 && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      assertEquals(3, spark.sparkContext().statusTracker().getExecutorInfos().length, "the driver and two executors");
      Dataset<Row> images = ImageSources.read(spark, SparkTestData.images().toString()).repartition(6);
      Dataset<Row> result = RestTfSpark.classify(images, SparkTestData.classifier().toString(), SparkOptions.defaults().withBatchSize(5));
      // which executors ran the job's tasks
      Set<String> executors = java.util.concurrent.ConcurrentHashMap.newKeySet();
      SparkListener listener = new SparkListener() {
        @Override
        public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
          executors.add(taskEnd.taskInfo().executorId());
        }
      };
      spark.sparkContext().addSparkListener(listener);
      List<Row> rows = result.collectAsList();
      spark.sparkContext().listenerBus().waitUntilEmpty();
      spark.sparkContext().removeSparkListener(listener);
      Map<String, Row> m = RestTfSparkTest.byPath(rows);
      assertEquals(41, m.size());
      RestTfSparkTest.assertClassifiedLikeRestClassifier(m, SparkTestData.classifier(), 1L);
      Row broken = m.entrySet().stream().filter(e -> e.getKey().endsWith("broken.png")).findFirst().orElseThrow().getValue();
      assertNotNull(broken.getString(broken.fieldIndex(RestTfSpark.ERROR)));
      assertEquals(Set.of("0", "1"), executors, "tasks ran in both executor JVMs, none in the driver");
    } finally {
      spark.stop();
    }
  }
}
