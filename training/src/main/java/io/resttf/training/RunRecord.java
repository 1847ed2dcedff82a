package io.resttf.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * run.json: what a run trains on what, from which weights — written once at the start, read back to
 * resume (and checked against what the resuming command line gives).
 *
 * @param init how the weights started ({@code source}: the init file, null = fresh weights; what was
 *             freshly initialised or dropped)
 */
record RunRecord(RestConfig config, TrainOptions options, DataSpec data, String dataLayout, List<String> classes,
    int trainImages, int valImages, int stepsPerEpoch, double dropPath, ObjectNode init, List<String> frozenKeys,
    List<String> javaGradients) {

  /** The init source file, or null when the run started from fresh weights. */
  String initSource() {
    return init.path("source").asText(null);
  }

  ObjectNode toJson() {
    ObjectNode n = TrainOptions.JSON.createObjectNode();
    n.put("created", Instant.now().toString());
    n.set("config", config.toJsonNode());
    n.set("options", options.toJsonNode());
    n.set("data", data.toJsonNode());
    n.put("data_layout", dataLayout);
    strings(n.putArray("classes"), classes);
    n.put("train_images", trainImages);
    n.put("val_images", valImages);
    n.put("steps_per_epoch", stepsPerEpoch);
    n.put("drop_path", dropPath);
    n.set("init", init);
    strings(n.putArray("frozen_keys"), frozenKeys);
    strings(n.putArray("java_gradients"), javaGradients);
    return n;
  }

  static RunRecord fromJson(JsonNode n, String source) {
    return new RunRecord(RestConfig.fromJson(n.path("config").toString(), source),
        TrainOptions.fromJson(withCheckpointDefaults(n.path("options")), source).validate(), DataSpec.fromJson(n.path("data"), source),
        n.path("data_layout").asText(), RunDirectory.jsonStrings(n.path("classes")), n.path("train_images").asInt(),
        n.path("val_images").asInt(), n.path("steps_per_epoch").asInt(), n.path("drop_path").asDouble(),
        n.path("init") instanceof ObjectNode o ? o : TrainOptions.JSON.createObjectNode(),
        RunDirectory.jsonStrings(n.path("frozen_keys")), RunDirectory.jsonStrings(n.path("java_gradients")));
  }

  /**
   * Options of a run recorded before step checkpoints existed: it had none (epoch checkpoints only, as now by default);
   * likewise for the strong augmentations.
   */
  private static JsonNode withCheckpointDefaults(JsonNode options) {
    if (!(options instanceof ObjectNode o)) return options;
    ObjectNode c = o.deepCopy();
    if (!c.has("checkpoint_every")) c.put("checkpoint_every", TrainOptions.DEFAULT_CHECKPOINT_EVERY);
    if (!c.has("keep_checkpoints")) c.put("keep_checkpoints", TrainOptions.DEFAULT_KEEP_CHECKPOINTS);
    // runs recorded before Mixup / CutMix / random erasing existed had them off
    TrainOptions off = new TrainOptions();
    TrainOptions.strongAugmentationOff(off);
    off.toJsonNode().fields().forEachRemaining(e -> {
      if (!c.has(e.getKey())) c.set(e.getKey(), e.getValue());
    });
    return c;
  }

  /** run.json's {@code init}: fresh weights (seeded), or the file and what of its weights were made fresh or dropped. */
  static ObjectNode init(ModelSource source, RestModel.LoadReport report, boolean freshHead, long seed) {
    ObjectNode in = TrainOptions.JSON.createObjectNode();
    if (source == null) {
      in.put("source", (String) null);
      in.put("weights", "fresh (official initialisation, seed " + seed + ")");
    } else {
      in.put("source", source.source());
      in.put("fresh_head", freshHead);
      in.putPOJO("fresh", report.fresh());
      in.putPOJO("dropped", report.dropped());
    }
    return in;
  }

  private static void strings(ArrayNode a, List<String> values) {
    values.forEach(a::add);
  }

  /** What the command line gave on resume must be what the run recorded; refused with the differences. */
  void checkAgrees(Trainer.Given given, Object runDir) {
    if (given.config() != null && !given.config().withNumClasses(config.numClasses()).equals(config)) {
      List<String> diff = TrainOptions.differences(given.config().withNumClasses(config.numClasses()).toJsonNode(), config.toJsonNode());
      throw new BadInputException("--resume " + runDir + ": that run trains another model; the config given differs in "
          + String.join("; ", diff));
    }
    if (given.init() != null && !given.init().equals(initSource())) {
      throw new BadInputException("--resume " + runDir + ": that run started from " + (initSource() == null ? "fresh weights" : initSource())
          + ", not " + given.init());
    }
    if (given.data() != null) {
      List<String> diff = TrainOptions.differences(strip(given.data().toJsonNode()), strip(data.toJsonNode()));
      if (!diff.isEmpty()) throw new BadInputException("--resume " + runDir + ": the data differs from the run's: " + String.join("; ", diff));
    }
    List<String> dataDiff = dataChoiceDifferences(given.dataChoices());
    if (!dataDiff.isEmpty()) {
      throw new BadInputException("--resume " + runDir + ": the data of a run cannot change on resume: " + String.join("; ", dataDiff)
          + " (leave " + (dataDiff.size() == 1 ? "it" : "them") + " out)");
    }
    if (given.options() != null) {
      ObjectNode mine = given.options().toJsonNode();
      ObjectNode theirs = options.toJsonNode();
      List<String> diff = new ArrayList<>();
      mine.fieldNames().forEachRemaining(f -> {
        if (!TrainOptions.equalJson(mine.get(f), theirs.get(f))) {
          diff.add(TrainOptions.flag(f) + " " + mine.get(f) + " (run: " + (theirs.has(f) ? theirs.get(f) : "unset") + ")");
        }
      });
      if (!diff.isEmpty()) {
        throw new BadInputException("--resume " + runDir + ": options differ from the run's: " + String.join("; ", diff)
            + " (a resumed run continues with its own options; leave them out)");
      }
    }
  }

  /** The data options given without --data that differ from the run's, as "--limit 640 (run: 320)". */
  private List<String> dataChoiceDifferences(Trainer.DataChoices c) {
    List<String> diff = new ArrayList<>();
    if (c == null) return diff;
    if (c.limit() != null && c.limit() != data.limit()) {
      diff.add("--limit " + c.limit() + " (run: " + (data.limit() == 0 ? "all images" : data.limit()) + ")");
    }
    if (c.valSplit() != null && c.valSplit() != data.valSplit()) diff.add("--val-split " + c.valSplit() + " (run: " + data.valSplit() + ")");
    if (c.size() != null && c.size() != data.preprocessing().size()) diff.add("--size " + c.size() + " (run: " + data.preprocessing().size() + ")");
    return diff;
  }

  /** Preprocessing fields that change what the model sees (the rest, e.g. descriptions, may differ). */
  private static ObjectNode strip(ObjectNode n) {
    ObjectNode c = n.deepCopy();
    JsonNode p = c.get("preprocessing");
    if (p instanceof ObjectNode po) {
      ObjectNode keep = TrainOptions.JSON.createObjectNode();
      for (String f : List.of("size", "crop_pct", "resize_size", "pad", "upsample", "mean", "std")) if (po.has(f)) keep.set(f, po.get(f));
      c.set("preprocessing", keep);
    }
    return c;
  }
}
