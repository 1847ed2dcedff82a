package io.resttf.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.SegmentationModel;
import io.resttf.model.UperNetConfig;
import io.resttf.serving.DenseExport;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.training.data.SegmentationFolder;
import io.resttf.util.AtomicFiles;
import java.awt.Color;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Segmentation fine-tuning as mmseg's UPerNet recipe runs it, scaled to a small dataset: AdamW (weight
 * decay 0.01 off the norms), the poly schedule (power 1) after a linear warm-up, random horizontal flips,
 * decode + 0.4 · auxiliary cross-entropy ignoring label 255; after every epoch mIoU, per-class IoU and pixel
 * accuracy on the validation split (mmseg's definitions: IoU = TP / (TP + FP + FN) per class over the
 * whole split, classes absent from both prediction and labels left out of the mean). The run directory is
 * written at the end, atomically: {@code metrics.jsonl}, {@code curves.png}, {@code result.json}, and the
 * final model as a segmentation SavedModel under {@code savedmodel/}.
 */
public final class SegmentationFineTune {
  private SegmentationFineTune() {}

  /** What to run. {@code warmupIters} linear warm-up steps from lr · 1e-6 (mmseg's warmup_ratio). */
  public record Options(int epochs, int batch, double lr, double weightDecay, int warmupIters, double auxWeight, long seed) {
    /** The official configs' optimizer (AdamW lr 6e-5, weight decay 0.01, aux 0.4) for {@code epochs} × {@code batch}. */
    public static Options official(int epochs, int batch) {
      return new Options(epochs, batch, 6e-5, 0.01, 1500, 0.4, 0);
    }

    void validate() {
      if (epochs < 1 || epochs > 10000) throw new BadInputException("epochs must be in 1..10000, got " + epochs);
      if (batch < 1 || batch > 4096) throw new BadInputException("batch must be in 1..4096, got " + batch);
      if (!(lr > 0 && lr < 1)) throw new BadInputException("learning rate must be in (0, 1), got " + lr);
      if (!(weightDecay >= 0 && weightDecay < 1)) throw new BadInputException("weight decay must be in [0, 1), got " + weightDecay);
    }
  }

  /** The evaluation of one split: mIoU, pixel accuracy, IoU per class (NaN: class absent everywhere). */
  public record Scores(double mIoU, double pixelAccuracy, double[] iou) {}

  /** The end of a run. */
  public record Result(Path runDirectory, Scores last, Scores best, int bestEpoch, double seconds) {}

  /**
   * Trains a segmentor on the train split of {@code data}, evaluating on its val split ({@link SegmentationFolder#split}); {@code init} holds the starting
   * weights (e.g. {@link io.resttf.convert.DenseCheckpoints#classificationAsSegmentorBackbone}) loaded with
   * {@code initOptions} (what may stay fresh). Writes {@code run} (must not exist) at the end.
   */
  public static Result run(Path data, Path run, RestConfig backbone, UperNetConfig head, List<String> labels, double[] mean,
      double[] std, Map<String, HostTensor> init, RestModel.LoadOptions initOptions, Options o, PrintWriter log) {
    o.validate();
    if (Files.exists(run)) throw new BadInputException(run + ": exists; give a new run directory");
    if (labels.size() != head.numClasses()) {
      throw new BadInputException(labels.size() + " class names for " + head.numClasses() + " classes");
    }
    long t0 = System.nanoTime();
    SegmentationFolder train = SegmentationFolder.readSplit(data, "train", backbone.inChans(), head.numClasses(), mean, std);
    SegmentationFolder val = SegmentationFolder.readSplit(data, "val", backbone.inChans(), head.numClasses(), mean, std);
    log.printf(Locale.ROOT, "data:    %d train, %d val scenes of %dx%d, %d classes%n", train.count(), val.count(),
        train.width(), train.height(), head.numClasses());
    int stepsPerEpoch = train.count() / o.batch();
    if (stepsPerEpoch < 1) throw new BadInputException("batch " + o.batch() + " is larger than the " + train.count() + " training scenes");
    int total = stepsPerEpoch * o.epochs();
    List<String> metricLines = new ArrayList<>();
    List<double[]> lossPts = new ArrayList<>(), lrPts = new ArrayList<>(), miouPts = new ArrayList<>(), accPts = new ArrayList<>();
    Scores best = null, last = null;
    int bestEpoch = 0;
    Map<String, HostTensor> finalWeights;
    ObjectMapper json = new ObjectMapper();
    try (SegmentationTraining tr = SegmentationTraining.create(backbone, head, o.auxWeight(), o.weightDecay(), null)) {
      RestModel.LoadReport rep = tr.load(init, initOptions, o.seed());
      log.printf(Locale.ROOT, "init:    %d tensors loaded, %d fresh%n", rep.loaded(), rep.fresh().size());
      SplittableRandom rng = new SplittableRandom(o.seed());
      int h = train.height(), w = train.width(), c = train.channels(), px = h * w;
      int step = 0;
      for (int epoch = 1; epoch <= o.epochs(); epoch++) {
        int[] order = Seeds.permutation(train.count(), rng);
        double lossSum = 0;
        long te = System.nanoTime();
        for (int s = 0; s < stepsPerEpoch; s++) {
          float[] x = new float[o.batch() * px * c];
          int[] y = new int[o.batch() * px];
          for (int b = 0; b < o.batch(); b++) {
            int i = order[s * o.batch() + b];
            boolean flip = rng.nextBoolean(); // mmseg's RandomFlip(prob=0.5)
            for (int r = 0; r < h; r++) {
              for (int q = 0; q < w; q++) {
                int src = (i * h + r) * w + (flip ? w - 1 - q : q), dst = (b * h + r) * w + q;
                y[dst] = train.labels()[src];
                System.arraycopy(train.pixels(), src * c, x, dst * c, c);
              }
            }
          }
          double lr = learningRate(o, step, total);
          float loss = tr.step(x, y, o.batch(), h, w, lr);
          step++;
          lossSum += loss;
          lossPts.add(new double[] {step, loss});
          lrPts.add(new double[] {step, lr});
          if (step % 10 == 0 || s == stepsPerEpoch - 1) {
            double rate = (s + 1) * o.batch() / ((System.nanoTime() - te) / 1e9);
            double eta = (total - step) * o.batch() / rate;
            log.printf(Locale.ROOT, "\repoch %d/%d  step %d/%d  loss %.4f  lr %.2e  %.1f img/s  ETA %.0f s   ", epoch, o.epochs(),
                s + 1, stepsPerEpoch, loss, lr, rate, eta);
            log.flush();
          }
        }
        last = evaluate(backbone, head, tr.stateDict(), val, 32);
        if (best == null || last.mIoU() > best.mIoU()) {
          best = last;
          bestEpoch = epoch;
        }
        miouPts.add(new double[] {step, last.mIoU()});
        accPts.add(new double[] {step, last.pixelAccuracy()});
        log.printf(Locale.ROOT, "%nepoch %d: train loss %.4f, val mIoU %.2f %%, pixel accuracy %.2f %%%n", epoch,
            lossSum / stepsPerEpoch, 100 * last.mIoU(), 100 * last.pixelAccuracy());
        ObjectNode line = json.createObjectNode().put("epoch", epoch).put("step", step).put("train_loss", lossSum / stepsPerEpoch)
            .put("val_miou", last.mIoU()).put("val_pixel_accuracy", last.pixelAccuracy());
        ArrayNode iou = line.putArray("val_iou");
        for (double v : last.iou()) if (Double.isNaN(v)) iou.addNull(); else iou.add(v);
        metricLines.add(line.toString());
      }
      finalWeights = tr.stateDict();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    Scores lastScores = last, bestScores = best;
    int trainHeight = train.height(), trainWidth = train.width();
    int bestEp = bestEpoch;
    AtomicFiles.writeDirectory(run, false, dir -> {
      Files.writeString(dir.resolve("metrics.jsonl"), String.join("\n", metricLines) + "\n");
      Curves.write(dir.resolve("curves.png"), "segmentation fine-tuning",
          List.of(new Curves.Series("train loss (step)", new Color(30, 90, 180), lossPts, false)),
          List.of(new Curves.Series("val mIoU", new Color(220, 90, 30), miouPts, true),
              new Curves.Series("val pixel accuracy", new Color(40, 160, 70), accPts, true)),
          List.of(new Curves.Series("learning rate", new Color(120, 60, 160), lrPts, false)));
      ObjectNode r = json.createObjectNode();
      r.put("epochs", o.epochs()).put("batch", o.batch()).put("lr", o.lr()).put("seconds", seconds)
          .put("final_miou", lastScores.mIoU()).put("final_pixel_accuracy", lastScores.pixelAccuracy())
          .put("best_miou", bestScores.mIoU()).put("best_epoch", bestEp);
      ObjectNode perClass = r.putObject("final_iou");
      for (int k = 0; k < labels.size(); k++) {
        if (Double.isNaN(lastScores.iou()[k])) perClass.putNull(labels.get(k)); else perClass.put(labels.get(k), lastScores.iou()[k]);
      }
      Files.writeString(dir.resolve("result.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(r) + "\n");
      // the export's test pipeline keeps images at the training size and normalises as training did
      List<Double> m255 = new ArrayList<>(), s255 = new ArrayList<>();
      for (int k = 0; k < mean.length; k++) {
        m255.add(mean[k] * 255);
        s255.add(std[k] * 255);
      }
      int side = Math.max(trainHeight, trainWidth);
      new SavedModelExporter(dir.resolve("savedmodel")).exportDense("model", DenseExport.segmentor(backbone, head, labels)
          .withPipeline(new DenseExport.TestPipeline(side, Math.min(trainHeight, trainWidth), m255, s255)),
          finalWeights, RestModel.LoadOptions.STRICT, SavedModelExporter.Options.DEFAULT);
    });
    return new Result(run, lastScores, bestScores, bestEp, seconds);
  }

  /**
   * mmcv's poly schedule (power 1, min 0) after a linear warm-up from lr · 1e-6 (mmcv's warmup_ratio) over
   * {@code warmupIters} steps, but at most a tenth of the run (the official 1500 steps assume 160k).
   */
  static double learningRate(Options o, int step, int total) {
    int warmup = Math.min(o.warmupIters(), Math.max(1, total / 10));
    double lr = o.lr() * Math.max(0, 1 - (double) step / total);
    if (step < warmup) lr *= 1 - (1 - (double) step / warmup) * (1 - 1e-6);
    return lr;
  }

  /** mmseg's mIoU over a whole split (whole-image inference, running statistics). */
  public static Scores evaluate(RestConfig backbone, UperNetConfig head, Map<String, HostTensor> weights, SegmentationFolder split,
      int batch) {
    int k = head.numClasses(), h = split.height(), w = split.width(), c = split.channels(), px = h * w;
    long[] inter = new long[k], predArea = new long[k], labelArea = new long[k];
    long correct = 0, valid = 0;
    try (SegmentationModel m = SegmentationModel.create(backbone, head)) {
      m.load(weights);
      for (int from = 0; from < split.count(); from += batch) {
        int n = Math.min(batch, split.count() - from);
        float[] x = new float[n * px * c];
        System.arraycopy(split.pixels(), from * px * c, x, 0, x.length);
        float[] logits = m.wholeLogits(HostTensor.ofFloats(new long[] {n, h, w, c}, x)).toFloats();
        for (int p = 0; p < n * px; p++) {
          int label = split.labels()[from * px + p];
          if (label == 255) continue;
          int best = 0;
          for (int j = 1; j < k; j++) if (logits[p * k + j] > logits[p * k + best]) best = j;
          valid++;
          predArea[best]++;
          labelArea[label]++;
          if (best == label) {
            correct++;
            inter[label]++;
          }
        }
      }
    }
    double[] iou = new double[k];
    double sum = 0;
    int present = 0;
    for (int j = 0; j < k; j++) {
      long union = predArea[j] + labelArea[j] - inter[j];
      iou[j] = union == 0 ? Double.NaN : (double) inter[j] / union;
      if (union > 0) {
        sum += iou[j];
        present++;
      }
    }
    return new Scores(present == 0 ? 0 : sum / present, valid == 0 ? 0 : (double) correct / valid, iou);
  }

}
