package io.resttf.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.DenseCheckpoints;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.UperNetConfig;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.training.SegmentationFineTune;
import io.resttf.training.TrainOptions;
import io.resttf.training.data.SyntheticScenes;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** {@code train --task segmentation}: the options it reads, the starting weights, the run, the report. */
final class SegmentationTrainRun {
  private static final Set<String> TRAIN_OPTIONS = Set.of("epochs", "batch", "lr", "weight_decay", "seed");
  private final TrainCommand c;

  SegmentationTrainRun(TrainCommand c) {
    this.c = c;
  }

  int run(PrintWriter o) throws IOException {
    List<String> unused = new ArrayList<>();
    if (c.resume != null) unused.add("--resume");
    if (c.model != null) unused.add("--variant/--config");
    if (c.numClasses != null) unused.add("--num-classes (classes.txt says)");
    if (c.valSplit != null) unused.add("--val-split (the dataset has val/)");
    if (c.limit != null) unused.add("--limit");
    if (c.size != null) unused.add("--size");
    if (c.workers != null) unused.add("--workers");
    if (c.initialEval != null) unused.add("--initial-eval");
    if (c.maxPixels.given()) unused.add("--max-pixels");
    TrainOptions given = c.trainOptions.given();
    ObjectNode g = new ObjectMapper().valueToTree(given);
    for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> it = g.fields(); it.hasNext(); ) {
      Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e = it.next();
      if (!e.getValue().isNull() && !TRAIN_OPTIONS.contains(e.getKey())) unused.add("--" + e.getKey().replace('_', '-'));
    }
    if (!unused.isEmpty()) {
      throw new BadInputException("--task segmentation does not use " + String.join(", ", unused)
          + " (it reads --data, --init, --out, --epochs, --batch, --lr, --weight-decay, --seed, --head-channels)");
    }
    if (c.data == null) throw new BadInputException("--data is required (a dataset DIR: images/{train,val}, annotations/{train,val}, classes.txt)");
    // defaults: the official configs' AdamW lr 6e-5, weight decay 0.01 (--lr, --weight-decay change them)
    if (c.out == null) throw new BadInputException("--out is required (the run directory, must not exist)");
    if (c.init == null) throw new BadInputException("--init is required: demo, a classification checkpoint or an mmseg checkpoint");
    Path data = Path.of(c.data);
    if (!Files.isDirectory(data)) throw new BadInputException(data + ": no such dataset directory");
    Path classesFile = data.resolve(SyntheticScenes.CLASSES_FILE);
    if (!Files.isRegularFile(classesFile)) {
      throw new BadInputException(classesFile + ": missing (one class name per line, in label order)");
    }
    List<String> labels = Files.readAllLines(classesFile).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
    if (labels.size() < 2 || labels.size() > 65535) throw new BadInputException(classesFile + ": " + labels.size() + " classes (2..65535)");
    if (Files.exists(c.out)) throw new BadInputException(c.out + ": exists; give a new run directory");

    RestConfig backbone;
    Map<String, HostTensor> init;
    RestModel.LoadOptions load;
    double[] mean, std;
    boolean demo = DemoModel.INIT_NAME.equals(c.init);
    int channels = c.headChannels != null ? c.headChannels : demo ? 64 : 512;
    if (demo) {
      var source = DemoModel.modelSource();
      backbone = DenseCheckpoints.backboneConfig(source.config());
      init = DenseCheckpoints.classificationAsSegmentorBackbone(source.stateDict());
      load = DenseCheckpoints.segmentorFromClassification();
    } else {
      Path p = Path.of(c.init);
      Map<String, HostTensor> sd = WeightsFiles.read(p, false);
      if (ConfigDetector.isSegmentation(sd.keySet())) {
        ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(sd);
        if (d.head().numClasses() != labels.size()) {
          throw new BadInputException(p + ": a segmentor of " + d.head().numClasses() + " classes, " + classesFile + " names "
              + labels.size() + " (start from its backbone: convert it to a classification checkpoint, or match the classes)");
        }
        backbone = d.backbone().config();
        channels = c.headChannels != null ? c.headChannels : d.head().channels();
        init = sd;
        load = RestModel.LoadOptions.STRICT;
      } else {
        backbone = DenseCheckpoints.backboneConfig(ConfigDetector.detect(sd).config());
        init = DenseCheckpoints.classificationAsSegmentorBackbone(sd);
        load = DenseCheckpoints.segmentorFromClassification();
      }
    }
    if (backbone.family() != io.resttf.model.Family.V2) {
      throw new BadInputException(c.init + ": a ResT (v1) model; the official segmentation code (and this) builds on ResTv2");
    }
    if (backbone.inChans() == 1) { // the Fashion-MNIST statistics the demo model was trained with
      mean = new double[] {0.2860};
      std = new double[] {0.3530};
    } else {
      mean = new double[] {0.485, 0.456, 0.406};
      std = new double[] {0.229, 0.224, 0.225};
    }
    UperNetConfig head = new UperNetConfig(channels, UperNetConfig.DEFAULT_POOL_SCALES, labels.size(), Math.max(1, channels / 2), 2);
    if (given.epochs == null) throw new BadInputException("--epochs is required");
    if (given.batch == null) throw new BadInputException("--batch is required");
    SegmentationFineTune.Options d = SegmentationFineTune.Options.official(given.epochs, given.batch);
    SegmentationFineTune.Options opts = new SegmentationFineTune.Options(d.epochs(), d.batch(),
        given.lr != null ? given.lr : d.lr(), given.weightDecay != null ? given.weightDecay : d.weightDecay(),
        d.warmupIters(), d.auxWeight(), given.seed != null ? given.seed : d.seed());
    SegmentationFineTune.Result r = SegmentationFineTune.run(data, c.out, backbone, head, labels, mean, std, init, load, opts, o);
    o.printf(Locale.ROOT, "final: val mIoU %.2f %%, pixel accuracy %.2f %% (best mIoU %.2f %% at epoch %d), %.0f s%n",
        100 * r.last().mIoU(), 100 * r.last().pixelAccuracy(), 100 * r.best().mIoU(), r.bestEpoch(), r.seconds());
    for (int k = 0; k < labels.size(); k++) {
      double v = r.last().iou()[k];
      o.printf(Locale.ROOT, "  %-16s IoU %s%n", labels.get(k), Double.isNaN(v) ? "(absent)" : String.format(Locale.ROOT, "%.2f %%", 100 * v));
    }
    o.println("run: " + r.runDirectory() + " (metrics.jsonl, curves.png, result.json, savedmodel/model/1)");
    o.flush();
    return Main.OK;
  }
}
