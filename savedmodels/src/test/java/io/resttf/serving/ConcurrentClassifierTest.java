package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.resttf.serving.RestClassifier.Classification;
import io.resttf.serving.RestClassifier.ImageInput;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One classifier shared by 8 threads answers as it does for one thread. */
class ConcurrentClassifierTest {

  private record Answers(List<Classification> images, float[] logits, float[] stage4) {}

  private static Answers ask(RestClassifier c, List<ImageInput> images, HostTensor pixels) {
    List<Classification> cls = new ArrayList<>(c.classifyAll(images));
    cls.add(c.classify(images.get(0).bytes()));
    return new Answers(cls, c.predict(pixels).logits().toFloats(), c.features(pixels).get(3).toFloats());
  }

  @Test
  void eightThreadsGetTheSingleThreadAnswers() throws Exception {
    List<ImageInput> images = List.of(
        ImageInput.of("a.png", TestModels.resource("pil/odd_333x517.png")),
        ImageInput.of("b.jpg", TestModels.resource("pil/odd_333x517.jpg")),
        ImageInput.of("c", ClassifyImagesTest.synthetic(120, 80, BufferedImage.TYPE_INT_RGB, 4)));
    HostTensor pixels = Layouts.nchwToNhwc(TestModels.npy(TestModels.V2, "input_0.npy"));
    try (RestClassifier c = RestClassifier.open(TestModels.exported(TestModels.V2).versionDir())) {
      Answers expected = ask(c, images, pixels);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<Answers>>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          Callable<List<Answers>> job = () -> {
            start.await();
            List<Answers> out = new ArrayList<>();
            for (int i = 0; i < 3; i++) out.add(ask(c, images, pixels));
            return out;
          };
          futures.add(pool.submit(job));
        }
        start.countDown();
        for (Future<List<Answers>> f : futures) {
          for (Answers a : f.get()) {
            assertEquals(expected.images().size(), a.images().size());
            for (int i = 0; i < a.images().size(); i++) {
              Classification e = expected.images().get(i), g = a.images().get(i);
              assertEquals(e.image(), g.image());
              assertEquals(e.top().stream().map(RestClassifier.Prediction::index).toList(),
                  g.top().stream().map(RestClassifier.Prediction::index).toList());
              assertArrayEquals(e.probabilities(), g.probabilities(), 1e-6f);
            }
            assertArrayEquals(expected.logits(), a.logits(), 1e-5f);
            assertArrayEquals(expected.stage4(), a.stage4(), 1e-5f);
          }
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }
}
