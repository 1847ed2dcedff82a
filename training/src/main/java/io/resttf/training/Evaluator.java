package io.resttf.training;

import io.resttf.serving.RestClassifier;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.ImagePipeline;
import io.resttf.training.data.Prefetcher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Evaluates a model on labelled images, batch by batch, with the images loaded ahead on worker threads:
 * top-1 / top-5, mean cross-entropy and the confusion matrix ({@link Evaluation}). One evaluator for
 * {@code train} (validation after each epoch, on the training graph's inference copy) and {@code eval}
 * (a SavedModel): the same batching, decode-error handling and progress either way.
 */
public final class Evaluator {
  /** Logits [n, K] (row-major) of a model on an NHWC batch of {@code shape}. */
  public interface PixelModel {
    float[] logits(long[] shape, float[] pixels);
  }

  /** Called after every batch: {@code done} of {@code total} images (decoded or not). */
  public interface Progress {
    void update(long done, long total);
  }

  /** What an evaluation found, and the images it could not decode or classify (one message each). */
  public record Outcome(Evaluation evaluation, List<String> errors) {}

  private final int batch;
  private final int workers;
  private final int prefetch;

  /** {@code batch} images per model call, loaded by {@code workers} threads up to {@code prefetch} batches ahead. */
  public Evaluator(int batch, int workers, int prefetch) {
    if (batch < 1 || workers < 1) throw new IllegalArgumentException("batch and workers must be >= 1");
    this.batch = batch;
    this.workers = workers;
    this.prefetch = prefetch;
  }

  /**
   * Images decoded and preprocessed in Java by {@code pipe} (as the model was trained), then {@code model}.
   *
   * @param classes  the model's number of classes
   * @param labelMap dataset label → model class; null when they are the same
   */
  public Outcome evaluate(Dataset ds, ImagePipeline pipe, int classes, int[] labelMap, PixelModel model, Progress progress) {
    int sample = pipe.sampleSize();
    int side = pipe.inputSize();
    return run(ds.size(), classes, labelMap, progress, (from, to) -> {
      float[] px = new float[(to - from) * sample];
      int[] labels = new int[to - from];
      List<String> errors = new ArrayList<>();
      int m = 0;
      for (int i = from; i < to; i++) {
        try {
          pipe.eval(ds.image(i), px, m * sample);
          labels[m++] = ds.label(i);
        } catch (Dataset.DecodeException e) {
          errors.add(e.getMessage());
        }
      }
      return new PixelBatch(px, labels, m, errors);
    }, b -> {
      float[] logits = b.n() == 0 ? new float[0]
          : model.logits(new long[] {b.n(), side, side, pipe.channels()}, b.decodedPixels(sample));
      return new Scored(logits, b.labels(), b.n(), b.errors());
    });
  }

  /**
   * Encoded images (an image folder's files, TFRecord records' image/encoded) through the SavedModel's own in-graph
   * preprocessing ({@link RestClassifier#classifyEach}); an image it cannot decode is an error, not fatal.
   */
  public Outcome evaluateFiles(Dataset ds, RestClassifier classifier, int[] labelMap, Progress progress) {
    int classes = classifier.config().numClasses();
    return run(ds.size(), classes, labelMap, progress, (from, to) -> {
      List<RestClassifier.ImageInput> images = new ArrayList<>();
      List<Integer> labels = new ArrayList<>();
      List<String> errors = new ArrayList<>();
      for (int i = from; i < to; i++) {
        try {
          images.add(RestClassifier.ImageInput.of(ds.describe(i), ds.encoded(i)));
          labels.add(ds.label(i));
        } catch (Dataset.DecodeException e) {
          errors.add(e.getMessage());
        }
      }
      return new EncodedBatch(images, labels, errors);
    }, b -> {
      List<RestClassifier.ImageResult> res = b.images().isEmpty() ? List.of() : classifier.classifyEach(b.images());
      List<String> errors = new ArrayList<>(b.errors());
      float[] logits = new float[res.size() * classes];
      int[] labels = new int[res.size()];
      int m = 0;
      for (int i = 0; i < res.size(); i++) {
        if (!res.get(i).ok()) {
          errors.add(res.get(i).image() + ": " + res.get(i).error());
          continue;
        }
        float[] p = res.get(i).classification().probabilities();
        // log-probabilities rank like logits, and give the cross-entropy exactly
        for (int c = 0; c < classes; c++) logits[m * classes + c] = (float) Math.log(Math.max(p[c], Float.MIN_VALUE));
        labels[m++] = b.labels().get(i);
      }
      return new Scored(logits, labels, m, errors);
    });
  }

  /** Encoded images of a batch, their labels, and the files that could not be read. */
  private record EncodedBatch(List<RestClassifier.ImageInput> images, List<Integer> labels, List<String> errors) {}

  /** A scored batch: logits of {@code n} images, their dataset labels, and what failed. */
  private record Scored(float[] logits, int[] labels, int n, List<String> errors) {}

  private interface Loader<B> {
    B load(int from, int to);
  }

  private interface Scorer<B> {
    Scored score(B batch);
  }

  private <B> Outcome run(int n, int classes, int[] labelMap, Progress progress, Loader<B> loader, Scorer<B> scorer) {
    int batches = (n + batch - 1) / batch;
    Evaluation ev = new Evaluation(classes);
    List<String> errors = new ArrayList<>();
    IntFunction<B> load = j -> loader.load(j * batch, Math.min(n, (j + 1) * batch));
    try (Prefetcher<B> loaded = new Prefetcher<>(load, 0, batches, workers, prefetch)) {
      long done = 0;
      while (loaded.hasNext()) {
        Scored s = scorer.score(loaded.next());
        errors.addAll(s.errors());
        if (s.n() > 0) {
          int[] y = new int[s.n()];
          for (int i = 0; i < s.n(); i++) y[i] = labelMap == null ? s.labels()[i] : labelMap[s.labels()[i]];
          ev.add(s.logits(), y, s.n());
        }
        done += s.n() + s.errors().size();
        if (progress != null) progress.update(done, n);
      }
    }
    return new Outcome(ev, errors);
  }
}
