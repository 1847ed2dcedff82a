package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.serving.RestClassifier.Batching;
import io.resttf.serving.RestClassifier.BatchingStats;
import io.resttf.serving.RestClassifier.Classification;
import io.resttf.serving.RestClassifier.ImageInput;
import io.resttf.serving.RestClassifier.ImageResult;
import io.resttf.serving.RestClassifier.Outputs;
import io.resttf.serving.RestClassifier.Prediction;
import io.resttf.serving.RestClassifier.QueueFullException;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Dynamic batching in {@link RestClassifier}: merged calls answer as unbatched ones, a lone call waits no
 * longer than maxWait, a full queue refuses at once, close() mid-call, a corrupt image among merged calls.
 *
 * <p>Bit-identity: a row's answer depends on the size of the batch it ran in (oneDNN), not on its
 * position or companions. So answers are compared bit for bit where the batch size is known (a forced
 * merge of 8 against an unbatched batch of 8; a lone call and the one-by-one fallback against unbatched
 * batch-1 calls), and within {@link #TOLERANCE} of the output's largest magnitude where concurrent
 * calls merge unpredictably.
 */
class BatchingClassifierTest {
  /** Allowed difference between a merged and a batch-1 answer, relative to the output's largest magnitude. */
  static final double TOLERANCE = 1e-6;
  static final byte[] CORRUPT = "this is not an image".getBytes(StandardCharsets.US_ASCII);

  private static Path model;
  private static RestClassifier plain;
  private static List<ImageInput> images;
  /** Unbatched answers, each image alone. */
  private static List<Classification> single;
  /** Unbatched answers, the 8 images in one call. */
  private static List<Classification> batchOf8;
  /** Preprocessed pixels of each image [1, S, S, 3], and their unbatched predict outputs. */
  private static List<HostTensor> pixels;
  private static List<Outputs> predicted;
  private static List<Outputs> predictedIn8;
  /** A second input size (160×96), whose calls must not merge with the 224×224 ones. */
  private static HostTensor otherSize;
  private static Outputs otherSizePredicted;

  @BeforeAll
  static void reference() {
    model = TestModels.exported(TestModels.V2).versionDir();
    plain = RestClassifier.open(model);
    images = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      images.add(ImageInput.of("img" + i, ClassifyImagesTest.synthetic(90 + 13 * i, 70 + 9 * i, BufferedImage.TYPE_INT_RGB, 100 + i)));
    }
    single = images.stream().map(im -> plain.classifyAll(List.of(im)).get(0)).toList();
    batchOf8 = plain.classifyAll(images);
    HostTensor all = plain.preprocess(images);
    pixels = new ArrayList<>();
    for (int i = 0; i < 8; i++) pixels.add(row(all, i));
    predicted = pixels.stream().map(plain::predict).toList();
    predictedIn8 = new ArrayList<>();
    Outputs o = plain.predict(all);
    for (int i = 0; i < 8; i++) predictedIn8.add(new Outputs(row(o.logits(), i), row(o.probabilities(), i)));
    otherSize = Layouts.nchwToNhwc(TestModels.npy(TestModels.V2, "input_1.npy"));
    otherSizePredicted = plain.predict(otherSize);
  }

  @AfterAll
  static void close() {
    if (plain != null) plain.close();
  }

  static HostTensor row(HostTensor t, int i) {
    long[] shape = t.shape();
    int per = Math.toIntExact(t.size() / shape[0]);
    shape[0] = 1;
    return HostTensor.ofFloats(shape, Arrays.copyOfRange(t.toFloats(), i * per, (i + 1) * per));
  }

  /** Largest |a - b| divided by the largest |expected| (at least 1e-30); fails above {@link #TOLERANCE}. */
  static double assertClose(float[] expected, float[] actual, String what) {
    double scale = Math.max(TestModels.maxAbs(expected), 1e-30);
    double rel = TestModels.maxAbsDiff(expected, actual) / scale;
    assertTrue(rel <= TOLERANCE, () -> what + ": merged answer differs by " + rel + " of the largest magnitude");
    return rel;
  }

  static void assertSame(Classification expected, Classification actual) {
    assertEquals(expected.image(), actual.image());
    assertEquals(expected.top(), actual.top());
    assertArrayEquals(expected.probabilities(), actual.probabilities());
  }

  /**
   * The same top-k, allowing classes whose probabilities are within the tolerance to swap places: at
   * every rank, the class {@code actual} names has (in {@code expected}) the probability expected there.
   */
  static void assertSameTop(Classification expected, Classification actual, String what) {
    assertEquals(expected.top().size(), actual.top().size(), what);
    double tol = TOLERANCE * TestModels.maxAbs(expected.probabilities());
    for (int r = 0; r < expected.top().size(); r++) {
      Prediction e = expected.top().get(r), a = actual.top().get(r);
      assertTrue(Math.abs(expected.probabilities()[a.index()] - e.probability()) <= tol,
          () -> what + ": top-k " + actual.top() + " vs " + expected.top());
      assertEquals(expected.probabilities()[a.index()], a.probability(), tol, what);
    }
  }

  static int liveBatchers() {
    return (int) Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("rest-tf-batcher")).count();
  }

  /** Runs {@code job(t)} on {@code n} threads started together; returns each thread's outcome (a value or the exception). */
  static <T> List<Object> onThreads(int n, Function<Integer, T> job) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Object>> futures = new ArrayList<>();
      for (int t = 0; t < n; t++) {
        int id = t;
        Callable<Object> c = () -> {
          start.await();
          try {
            return job.apply(id);
          } catch (RuntimeException e) {
            return e;
          }
        };
        futures.add(pool.submit(c));
      }
      start.countDown();
      List<Object> out = new ArrayList<>();
      for (Future<Object> f : futures) out.add(f.get(5, TimeUnit.MINUTES));
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * What merging can change, measured without batching: each image's answer in unbatched batches of 2 to
   * 8 against its batch-1 answer. Not bit-identical (oneDNN computes by batch size), within the tolerance.
   */
  @Test
  void theBatchSizeChangesOnlyTheLastBits() {
    HostTensor all = plain.preprocess(images);
    double worstProbs = 0, worstLogits = 0;
    int differing = 0;
    for (int n = 2; n <= 8; n++) {
      List<Classification> cls = plain.classifyAll(images.subList(0, n));
      long[] shape = all.shape();
      shape[0] = n;
      int per = Math.toIntExact(all.size() / all.shape()[0]);
      Outputs o = plain.predict(HostTensor.ofFloats(shape, Arrays.copyOf(all.toFloats(), n * per)));
      for (int i = 0; i < n; i++) {
        String what = "image " + i + " in a batch of " + n;
        if (!Arrays.equals(single.get(i).probabilities(), cls.get(i).probabilities())) differing++;
        worstProbs = Math.max(worstProbs, assertClose(single.get(i).probabilities(), cls.get(i).probabilities(), what));
        worstLogits = Math.max(worstLogits, assertClose(predicted.get(i).logits().toFloats(), row(o.logits(), i).toFloats(), what));
      }
    }
    System.out.printf(Locale.ROOT, "unbatched batches of 2..8 against batch 1: %d of 35 probability rows differ; worst difference "
        + "relative to the largest magnitude: probabilities %.3g, logits %.3g (tolerance %.0e)%n", differing, worstProbs, worstLogits, TOLERANCE);
  }

  /** 8 threads calling classify, classifyEach and predict concurrently get the unbatched answers; calls were merged. */
  @Test
  void eightThreadsGetTheUnbatchedAnswers() throws Exception {
    BatchingStats s = eightThreadsGetTheUnbatchedAnswers(new Batching(8, Duration.ofMillis(20), 64));
    assertEquals(1, s.mostConcurrentBatches(), s::toString);
  }

  /** The same with batches of at most 4 run by two batcher threads: the same answers. */
  @Test
  void twoBatchThreadsGiveTheUnbatchedAnswers() throws Exception {
    BatchingStats s = eightThreadsGetTheUnbatchedAnswers(new Batching(4, Duration.ofMillis(20), 64, 2));
    assertTrue(s.mostConcurrentBatches() <= 2, s::toString);
  }

  private BatchingStats eightThreadsGetTheUnbatchedAnswers(Batching batching) throws Exception {
    try (RestClassifier c = RestClassifier.open(model, batching)) {
      double[] worst = new double[3];
      List<Object> results = onThreads(8, t -> {
        List<Object> answers = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
          int i = (t + round) % 8, j = (t + round + 3) % 8;
          answers.add(c.classify(images.get(i).bytes()));
          answers.add(c.classifyEach(List.of(images.get(i), images.get(j))));
          answers.add(c.predict(pixels.get(j)));
          if (t % 4 == 0) answers.add(c.predict(otherSize));
        }
        return answers;
      });
      for (int t = 0; t < 8; t++) {
        Object r = results.get(t);
        if (r instanceof Exception e) throw new AssertionError("thread " + t + " failed", e);
        List<?> answers = (List<?>) r;
        int k = 0;
        for (int round = 0; round < 3; round++) {
          int i = (t + round) % 8, j = (t + round + 3) % 8;
          String where = "thread " + t + " round " + round;
          Classification one = (Classification) answers.get(k++);
          assertEquals("image", one.image());
          assertSameTop(single.get(i), one, where);
          worst[0] = Math.max(worst[0], assertClose(single.get(i).probabilities(), one.probabilities(), where + " classify"));
          List<?> each = (List<?>) answers.get(k++);
          assertEquals(2, each.size());
          for (int m = 0; m < 2; m++) {
            ImageResult ir = (ImageResult) each.get(m);
            Classification expected = single.get(m == 0 ? i : j);
            assertTrue(ir.ok(), ir::error);
            assertEquals(expected.image(), ir.image());
            assertSameTop(expected, ir.classification(), where);
            worst[0] = Math.max(worst[0], assertClose(expected.probabilities(), ir.classification().probabilities(), where + " classifyEach"));
          }
          Outputs o = (Outputs) answers.get(k++);
          assertArrayEquals(new long[] {1, 10}, o.logits().shape());
          worst[1] = Math.max(worst[1], assertClose(predicted.get(j).logits().toFloats(), o.logits().toFloats(), where + " logits"));
          worst[2] = Math.max(worst[2], assertClose(predicted.get(j).probabilities().toFloats(), o.probabilities().toFloats(), where + " probabilities"));
          if (t % 4 == 0) {
            Outputs p = (Outputs) answers.get(k++);
            worst[1] = Math.max(worst[1], assertClose(otherSizePredicted.logits().toFloats(), p.logits().toFloats(), where + " 160x96 logits"));
          }
        }
      }
      BatchingStats s = c.batchingStats();
      System.out.printf(Locale.ROOT, "batching, 8 threads: %s; mean batch %.2f; worst difference to batch-1 answers, relative to the largest "
          + "magnitude: classify probabilities %.3g, logits %.3g, probabilities %.3g%n", s, s.meanBatchSize(), worst[0], worst[1], worst[2]);
      assertEquals(8 * 3 * 3 + 2 * 3, s.calls());
      assertEquals(8 * 3 * 4 + 2 * 3, s.items());
      assertTrue(s.batches() < s.calls(), () -> "no calls were merged: " + s);
      assertTrue(s.largestBatch() <= batching.maxBatchSize(), s::toString);
      assertEquals(0, s.fallbacks());
      assertEquals(0, s.rejected());
      return s;
    }
  }

  /**
   * Two batcher threads run two batches at the same time: 16 threads keep the queue full, so while one
   * batch runs the other thread finds a full batch waiting (with one thread there is never more than one).
   */
  @Test
  void twoBatchThreadsRunTwoBatchesAtOnce() throws Exception {
    int before = liveBatchers();
    try (RestClassifier c = RestClassifier.open(model, new Batching(2, Duration.ofMinutes(2), 64, 2))) {
      assertEquals(before + 2, liveBatchers());
      List<Object> got = onThreads(16, t -> {
        for (int k = 0; k < 6; k++) {
          Classification r = c.classify(images.get((t + k) % 8).bytes());
          assertSameTop(single.get((t + k) % 8), r, "thread " + t);
        }
        return null;
      });
      for (Object r : got) if (r instanceof Exception e) throw new AssertionError(e);
      BatchingStats s = c.batchingStats();
      assertEquals(16 * 6, s.calls(), s::toString);
      assertEquals(2, s.largestBatch(), s::toString);
      assertEquals(2, s.mostConcurrentBatches(), s::toString);
    }
    assertEquals(before, liveBatchers(), "every batcher thread ended");
  }

  /** 8 calls merged into one run of 8 answer bit for bit as an unbatched call of those 8 images. */
  @Test
  void aMergedBatchOfEightIsBitIdenticalToAnUnbatchedBatchOfEight() throws Exception {
    // maxWait far longer than the test: the batch runs because it is full
    try (RestClassifier c = RestClassifier.open(model, new Batching(8, Duration.ofMinutes(2), 64))) {
      List<Object> cls = onThreads(8, t -> c.classify(images.get(t).bytes()));
      BatchingStats s = c.batchingStats();
      assertEquals(1, s.batches(), s::toString);
      assertEquals(8, s.largestBatch(), s::toString);
      for (int t = 0; t < 8; t++) {
        Classification got = (Classification) cls.get(t);
        assertEquals(batchOf8.get(t).top(), got.top());
        assertArrayEquals(batchOf8.get(t).probabilities(), got.probabilities(), "image " + t);
      }
      List<Object> outs = onThreads(8, t -> c.predict(pixels.get(t)));
      assertEquals(2, c.batchingStats().batches());
      for (int t = 0; t < 8; t++) {
        Outputs got = (Outputs) outs.get(t);
        assertArrayEquals(predictedIn8.get(t).logits().toFloats(), got.logits().toFloats(), "image " + t);
        assertArrayEquals(predictedIn8.get(t).probabilities().toFloats(), got.probabilities().toFloats(), "image " + t);
      }
    }
  }

  /** A call with nobody to merge with runs after maxWait, as a batch of one: bit-identical to the unbatched call. */
  @Test
  void aLoneCallWaitsAboutMaxWait() {
    Duration maxWait = Duration.ofMillis(300);
    try (RestClassifier c = RestClassifier.open(model, new Batching(8, maxWait, 64))) {
      long t0 = System.nanoTime();
      plain.classify(images.get(3).bytes());
      long unbatched = System.nanoTime() - t0;
      Classification got = assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
        long t1 = System.nanoTime();
        Classification r = c.classify(images.get(3).bytes());
        long took = System.nanoTime() - t1;
        // loose: it waited (for company), and not much beyond maxWait (never for a full batch)
        assertTrue(took >= maxWait.toNanos() * 9 / 10, "returned before maxWait: " + took / 1e6 + " ms");
        assertTrue(took < maxWait.toNanos() + 10 * unbatched + 10_000_000_000L, "took " + took / 1e6 + " ms");
        return r;
      });
      assertEquals(single.get(3).top(), got.top());
      assertArrayEquals(single.get(3).probabilities(), got.probabilities());
      Outputs o = c.predict(pixels.get(5));
      assertArrayEquals(predicted.get(5).logits().toFloats(), o.logits().toFloats());
      BatchingStats s = c.batchingStats();
      assertEquals(2, s.batches(), s::toString);
      assertEquals(1, s.largestBatch(), s::toString);
      // a call of maxBatchSize images or more is not queued
      assertEquals(8, c.classifyAll(images).size());
      assertEquals(2, c.batchingStats().calls());
    }
  }

  /** With the queue full, a call fails at once; queued calls fail with "classifier is closed" when it closes. */
  @Test
  void aFullQueueRefusesAtOnce() throws Exception {
    int before = liveBatchers();
    RestClassifier c = RestClassifier.open(model, new Batching(8, Duration.ofMinutes(5), 2));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Classification>> queued = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        int id = t;
        queued.add(pool.submit(() -> c.classify(images.get(id).bytes())));
      }
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (c.batchingStats().waiting() < 2) {
        assertTrue(System.nanoTime() < deadline, "the two calls never queued");
        Thread.sleep(5);
      }
      QueueFullException e = assertThrows(QueueFullException.class, () -> c.classify(images.get(2).bytes()));
      assertTrue(e.getMessage().endsWith("batching queue full (2 waiting)"), e.getMessage());
      assertFalse(e.getMessage().contains("\n"));
      assertThrows(QueueFullException.class, () -> c.predict(pixels.get(0)));
      assertEquals(2, c.batchingStats().rejected());
      // a full batch is not queued, so it still runs
      assertEquals(8, c.classifyAll(images).size());
      assertFalse(queued.get(0).isDone());

      assertTimeoutPreemptively(Duration.ofMinutes(1), c::close);
      for (Future<Classification> f : queued) {
        var ex = assertThrows(java.util.concurrent.ExecutionException.class, () -> f.get(1, TimeUnit.MINUTES));
        assertTrue(ex.getCause() instanceof IllegalStateException, ex.getCause()::toString);
        assertTrue(ex.getCause().getMessage().endsWith("classifier is closed"), ex.getCause().getMessage());
      }
      assertEquals(before, liveBatchers(), "the batcher thread ended");
    } finally {
      pool.shutdownNow();
      c.close();
    }
  }

  /** close() while 8 threads are mid-call: runs in progress finish, every later call fails with "classifier is closed". */
  @Test
  void closeWhileEightThreadsAreMidCall() throws Exception {
    int before = liveBatchers();
    RestClassifier c = RestClassifier.open(model, new Batching(4, Duration.ofMillis(5), 64));
    assertEquals(before + 1, liveBatchers());
    AtomicBoolean closing = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Object[]>> threads = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int id = t;
        threads.add(pool.submit(() -> {
          int ok = 0;
          try {
            for (int k = 0; ; k++) {
              int i = (id + k) % 8;
              if (id == 7) {
                assertEquals(4, c.classifyAll(images.subList(0, 4)).size()); // direct: not queued
              } else if (id % 2 == 0) {
                assertEquals("image", c.classify(images.get(i).bytes()).image());
              } else {
                c.predict(pixels.get(i));
              }
              ok++;
              if (k > 10_000) return new Object[] {ok, null, false};
            }
          } catch (RuntimeException e) {
            return new Object[] {ok, e, closing.get()};
          }
        }));
      }
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (c.batchingStats().calls() < 12) {
        assertTrue(System.nanoTime() < deadline, "no progress: " + c.batchingStats());
        Thread.sleep(10);
      }
      closing.set(true);
      c.close();
      int succeeded = 0;
      for (int t = 0; t < 8; t++) {
        Object[] r = threads.get(t).get(2, TimeUnit.MINUTES);
        succeeded += (Integer) r[0];
        RuntimeException e = (RuntimeException) r[1];
        String who = "thread " + t;
        assertTrue(e instanceof IllegalStateException, () -> who + ": " + e);
        assertTrue(e.getMessage().endsWith("classifier is closed"), e.getMessage());
        assertTrue((Boolean) r[2], "failed before close: " + e);
      }
      assertTrue(succeeded >= 12);
      assertEquals(before, liveBatchers(), "the batcher thread ended");
      var after = assertThrows(IllegalStateException.class, () -> c.classify(images.get(0).bytes()));
      assertTrue(after.getMessage().endsWith("classifier is closed"), after.getMessage());
      assertThrows(IllegalStateException.class, () -> c.predict(pixels.get(0)));
      assertThrows(IllegalStateException.class, () -> c.classifyAll(images));
      c.close(); // twice is fine
    } finally {
      pool.shutdownNow();
      c.close();
    }
  }

  /** A corrupt image in a merged run: its caller gets the unbatched error, the others their (batch-1) answers. */
  @Test
  void aCorruptImageFailsOnlyItsCaller() throws Exception {
    ImageInput bad = ImageInput.of("bad.jpg", CORRUPT);
    BadInputException expectedError = assertThrows(BadInputException.class, () -> plain.classifyAll(List.of(bad)));
    List<ImageResult> expectedEach = plain.classifyEach(List.of(images.get(5), bad));
    assertNull(expectedEach.get(1).classification());
    // 5 single calls + classifyAll([bad]) + classifyEach([img5, bad]) = 8 images: one merged run
    try (RestClassifier c = RestClassifier.open(model, new Batching(8, Duration.ofMinutes(2), 64))) {
      List<Object> got = onThreads(7, t -> {
        if (t < 5) return c.classify(images.get(t).bytes());
        if (t == 5) return c.classifyAll(List.of(bad));
        return c.classifyEach(List.of(images.get(5), bad));
      });
      BatchingStats s = c.batchingStats();
      assertEquals(1, s.batches(), s::toString);
      assertEquals(8, s.items(), s::toString);
      assertEquals(1, s.fallbacks(), s::toString);
      for (int t = 0; t < 5; t++) {
        Classification r = (Classification) got.get(t);
        assertEquals(single.get(t).top(), r.top());
        assertArrayEquals(single.get(t).probabilities(), r.probabilities(), "run alone after the merged run failed");
      }
      BadInputException e = (BadInputException) got.get(5);
      assertEquals(expectedError.getMessage(), e.getMessage());
      assertTrue(e.getMessage().startsWith("bad.jpg: "), e.getMessage());
      @SuppressWarnings("unchecked")
      List<ImageResult> each = (List<ImageResult>) got.get(6);
      assertEquals(expectedEach.get(1), each.get(1));
      assertFalse(each.get(1).ok());
      assertSame(expectedEach.get(0).classification(), each.get(0).classification());
      assertSame(single.get(5), each.get(0).classification());
    }
  }

  @Test
  void optionsAndDefaults() {
    assertThrows(BadInputException.class, () -> new Batching(1, Duration.ZERO, 1));
    assertThrows(BadInputException.class, () -> new Batching(8, Duration.ofMillis(-1), 1));
    assertThrows(BadInputException.class, () -> new Batching(8, Duration.ZERO, 0));
    var threads = assertThrows(BadInputException.class, () -> new Batching(8, Duration.ZERO, 1, 0));
    assertEquals("batching: batch threads must be from 1 to 64 (got 0)", threads.getMessage());
    assertThrows(BadInputException.class, () -> Batching.of(8, Duration.ZERO).withBatchThreads(65));
    assertEquals(1, Batching.of(4, Duration.ZERO).batchThreads());
    assertEquals(3, Batching.of(4, Duration.ZERO).withBatchThreads(3).batchThreads());
    assertEquals(Batching.DEFAULT_MAX_QUEUE, Batching.of(4, Duration.ZERO).maxQueue());
    assertTrue(plain.batching().isEmpty());
    assertEquals(0, plain.batchingStats().calls());
    try (RestClassifier c = RestClassifier.open(model, Batching.of(4, Duration.ZERO))) {
      assertEquals(4, c.batching().orElseThrow().maxBatchSize());
      // a bad shape fails in the caller, before it is queued
      var e = assertThrows(BadInputException.class, () -> c.predict(HostTensor.ofFloats(new long[] {1, 40, 32, 3}, new float[40 * 32 * 3])));
      assertTrue(e.getMessage().contains("multiple of 32"), e.getMessage());
      assertEquals(0, c.batchingStats().calls());
      // maxWait zero: a lone call runs at once, as a batch of one
      assertArrayEquals(single.get(1).probabilities(), c.classify(images.get(1).bytes()).probabilities());
      assertEquals(1, c.batchingStats().batches());
    }
  }
}
