package io.resttf.spark;

import io.resttf.serving.RestSegmenter;
import io.resttf.serving.ServingSignatures;
import io.resttf.tensor.BadInputException;
import java.io.Serializable;

/**
 * How {@link RestTfSpark} runs a model over a table of images.
 *
 * @param batchSize images per model call within a partition
 * @param threads TF intra-op threads per executor JVM (its inter-op pool gets the executor's cores, one per task
 *     running at once); 0 = the executor's cores; default {@value #DEFAULT_THREADS}: each task's ops run whole
 *     on its own core (Fashion export on local[2]: 864-872 images/s against 643-683 with 0; rest_lite unchanged)
 * @param topK classes per image (classification)
 * @param multiScale embeddings of stages 1-3 too, beside stage 4's (embeddings)
 * @param mode, crop, stride, flip mmseg's test mode and its slide crop and stride; the flip test (segmentation)
 * @param masksDir where segmentation writes each image's class-map PNG (any Hadoop file system path); null = none
 * @param executorModelDir the model's path on executors when it differs from the driver's (shipped with
 *     {@code --archives}); null = the same
 */
public record SparkOptions(int batchSize, int threads, int topK, boolean multiScale,
    RestSegmenter.Mode mode, int crop, int stride, boolean flip, String masksDir, String executorModelDir)
    implements Serializable {

  public static final int DEFAULT_BATCH = 32;
  public static final int MAX_BATCH = 4096;

  public SparkOptions {
    if (batchSize < 1 || batchSize > MAX_BATCH) throw new BadInputException("batch size " + batchSize + ": must be 1.." + MAX_BATCH);
    if (threads < 0 || threads > 1024) throw new BadInputException("threads " + threads + ": must be 0 (the executor's cores) .. 1024");
    if (topK < 1 || topK > ServingSignatures.MAX_TOP_K) throw new BadInputException("top-k " + topK + ": must be 1.." + ServingSignatures.MAX_TOP_K);
    if (crop < 1 || stride < 1) throw new BadInputException("crop " + crop + " and stride " + stride + ": must be positive");
    if (mode == null) mode = RestSegmenter.Mode.WHOLE;
  }

  /** Batches of 32, the executor's cores, top 5, stage 4 only, whole-image segmentation (crop 512, stride 341), no masks. */
  /** Intra-op threads per executor JVM unless set: one, so that concurrent tasks each run their ops on a core. */
  public static final int DEFAULT_THREADS = 1;

  public static SparkOptions defaults() {
    return new SparkOptions(DEFAULT_BATCH, DEFAULT_THREADS, ServingSignatures.MAX_TOP_K, false, RestSegmenter.Mode.WHOLE, 512, 341, false, null, null);
  }

  public SparkOptions withBatchSize(int n) {
    return new SparkOptions(n, threads, topK, multiScale, mode, crop, stride, flip, masksDir, executorModelDir);
  }

  public SparkOptions withThreads(int n) {
    return new SparkOptions(batchSize, n, topK, multiScale, mode, crop, stride, flip, masksDir, executorModelDir);
  }

  public SparkOptions withTopK(int k) {
    return new SparkOptions(batchSize, threads, k, multiScale, mode, crop, stride, flip, masksDir, executorModelDir);
  }

  public SparkOptions withMultiScale(boolean on) {
    return new SparkOptions(batchSize, threads, topK, on, mode, crop, stride, flip, masksDir, executorModelDir);
  }

  public SparkOptions withSegmentation(RestSegmenter.Mode m, int c, int s, boolean f) {
    return new SparkOptions(batchSize, threads, topK, multiScale, m, c, s, f, masksDir, executorModelDir);
  }

  public SparkOptions withMasksDir(String dir) {
    return new SparkOptions(batchSize, threads, topK, multiScale, mode, crop, stride, flip, dir, executorModelDir);
  }

  public SparkOptions withExecutorModelDir(String dir) {
    return new SparkOptions(batchSize, threads, topK, multiScale, mode, crop, stride, flip, masksDir, dir);
  }
}
