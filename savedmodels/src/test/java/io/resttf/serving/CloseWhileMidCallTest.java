package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.serving.RestClassifier.Batching;
import io.resttf.serving.RestClassifier.ImageInput;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A classifier closed while 8 threads are mid-call, through every kind of call (classifyAll, classifyEach,
 * predict, features, preprocess), with dynamic batching off and on: close() returns, the JVM does not
 * abort (a session freed under a running call would), no call fails before close, and every call after
 * it fails with an IllegalStateException "classifier is closed" — never a TF or JVM error.
 */
class CloseWhileMidCallTest {
  @ParameterizedTest(name = "batching {0}")
  @ValueSource(booleans = {false, true})
  void closingWhileEightThreadsAreMidCallGivesThemAClearError(boolean batching) throws Exception {
    List<ImageInput> images = new ArrayList<>();
    for (int i = 0; i < 4; i++) images.add(ImageInput.of("img" + i, ClassifyImagesTest.synthetic(60 + 7 * i, 50 + 5 * i, BufferedImage.TYPE_INT_RGB, i)));
    HostTensor pixels = Layouts.nchwToNhwc(TestModels.npy(TestModels.V2, "input_0.npy"));
    RestClassifier c = RestClassifier.open(TestModels.exported(TestModels.V2).versionDir(),
        batching ? Batching.of(4, Duration.ofMillis(2)) : null);
    AtomicBoolean closing = new AtomicBoolean();
    AtomicInteger calls = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<RuntimeException>> threads = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int id = t;
        threads.add(pool.submit(() -> {
          try {
            for (int k = 0; k < 100_000; k++) {
              switch (id % 5) {
                case 0 -> assertEquals(1, c.classifyAll(images.subList(k % 4, k % 4 + 1)).size());
                case 1 -> assertEquals(2, c.classifyEach(images.subList(0, 2)).size());
                case 2 -> c.predict(pixels);
                case 3 -> c.features(pixels);
                default -> c.preprocess(images.subList(1, 3));
              }
              calls.incrementAndGet();
            }
            return null;
          } catch (RuntimeException e) {
            if (!closing.get()) throw new AssertionError("thread " + id + " failed before close", e);
            return e;
          }
        }));
      }
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (calls.get() < 16) {
        assertTrue(System.nanoTime() < deadline, "no progress");
        Thread.sleep(5);
      }
      closing.set(true);
      assertTimeoutPreemptively(Duration.ofMinutes(2), c::close);
      for (int t = 0; t < 8; t++) {
        RuntimeException e = threads.get(t).get(3, TimeUnit.MINUTES);
        String who = "thread " + t;
        assertTrue(e instanceof IllegalStateException, () -> who + " ended with " + e);
        assertTrue(e.getMessage().endsWith("classifier is closed"), e.getMessage());
      }
      for (Runnable call : List.<Runnable>of(() -> c.classifyAll(images), () -> c.classifyEach(images), () -> c.predict(pixels),
          () -> c.features(pixels), () -> c.preprocess(images), () -> c.classify(images.get(0).bytes()))) {
        IllegalStateException after = assertThrows(IllegalStateException.class, call::run);
        assertTrue(after.getMessage().endsWith("classifier is closed"), after.getMessage());
      }
      c.close(); // twice is fine
    } finally {
      pool.shutdownNow();
      c.close();
    }
  }
}
