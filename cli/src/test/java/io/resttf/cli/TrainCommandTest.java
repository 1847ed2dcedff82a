package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.training.data.FashionMnist;
import io.resttf.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train} and {@code eval} end to end on small slices: fine-tuning the embedded Fashion-MNIST model
 * with a fresh head (it must beat the fresh head, and its export must work for classify and eval),
 * training on an image folder with an undecodable file, and the refusals of bad input.
 */
class TrainCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path tmp;

  static String micro() {
    return Fixtures.root().resolve("fashion-restv2-micro/config.json").toString();
  }

  @BeforeAll
  static void needsFashionMnist() {
    org.junit.jupiter.api.Assumptions.assumeTrue(FashionMnist.installed(), "Debian's dataset-fashion-mnist");
  }

  static List<JsonNode> metrics(Path run) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) out.add(JSON.readTree(l));
    return out;
  }

  static double evalTop1(List<JsonNode> m, long step) {
    return m.stream().filter(n -> n.path("kind").asText().equals("eval") && n.path("step").asLong() == step
        && n.path("weights").asText().equals("model")).findFirst().orElseThrow().get("top1").asDouble();
  }

  @Test
  void fineTuningTheDemoModelWithAFreshHeadBeatsTheFreshHeadAndExports() throws Exception {
    Path run = tmp.resolve("ft");
    CliRun r = CliRun.of("train", "--init", "demo", "--data", "fashion-mnist", "--limit", "640", "--fresh-head",
        "--epochs", "1", "--batch", "64", "--seed", "3", "--out", run.toString()).ok();
    assertTrue(r.out().contains("model before training"), r.out());
    List<JsonNode> m = metrics(run);
    double before = evalTop1(m, 0), after = evalTop1(m, 10);
    assertTrue(before < 0.3, "a fresh head is near chance: " + before);
    assertTrue(after > before + 0.3, "fine-tuning for one epoch improves: " + before + " -> " + after);
    Path export = run.resolve("savedmodel/ft/1");
    assertTrue(Files.isRegularFile(export.resolve("saved_model.pb")), r.out());
    JsonNode run0 = JSON.readTree(run.resolve("run.json").toFile());
    assertTrue(run0.path("init").path("fresh_head").asBoolean());
    assertEquals(List.of("head.weight", "head.bias"), List.of(run0.path("init").path("fresh").get(0).asText(),
        run0.path("init").path("fresh").get(1).asText()));

    // classify accepts the export (the demo's test images, in-graph Fashion preprocessing)
    Path images = Files.createDirectories(tmp.resolve("pngs"));
    List<String> args = new ArrayList<>(List.of("classify", "--model", run.resolve("savedmodel/ft").toString()));
    for (int i = 0; i < 3; i++) {
      String name = String.format("test_%04d.png", i);
      try (InputStream in = Main.class.getResourceAsStream("demo/images/" + name)) {
        Files.copy(in, images.resolve(name));
      }
      args.add(images.resolve(name).toString());
    }
    CliRun c = CliRun.of(args.toArray(new String[0])).ok();
    assertTrue(c.out().contains("test_0002.png"), c.out());

    // the same images as TFRecord shards of tf.Example (named by image/filename, labelled): classify
    // --batch-from streams them, batches across shard ends, and prints the very lines of the files
    Files.createDirectories(tmp.resolve("rec"));
    for (int shard = 0; shard < 2; shard++) {
      try (io.resttf.training.tfrecord.TfRecords.Writer w = new io.resttf.training.tfrecord.TfRecords.Writer(
          tmp.resolve("rec").resolve("val-" + shard + ".tfrecord"))) {
        for (int i = shard; i < 3; i += 2) {
          String name = images.resolve(String.format("test_%04d.png", i)).toString();
          w.write(new io.resttf.training.tfrecord.ImageExample(Files.readAllBytes(Path.of(name)), "png", 9, null, 28, 28, name).toBytes());
        }
      }
    }
    CliRun fromRecords = CliRun.of("classify", "--model", run.resolve("savedmodel/ft").toString(), "--batch", "2",
        "--batch-from", "tfrecord:" + tmp.resolve("rec").resolve("val-*.tfrecord")).ok();
    assertEquals(new java.util.TreeSet<>(c.out().lines().toList()), new java.util.TreeSet<>(fromRecords.out().lines().toList()));
    assertTrue(fromRecords.err().contains("3 records; top-1 equals image/class/label for"), fromRecords.err());
    // one batch of 1 at a time or three at once: the same lines in the same order, the same summary
    CliRun oneByOne = CliRun.of("classify", "--model", run.resolve("savedmodel/ft").toString(), "--batch", "1", "--parallel", "1",
        "--batch-from", "tfrecord:" + tmp.resolve("rec").resolve("val-*.tfrecord")).ok();
    CliRun threeAtOnce = CliRun.of("classify", "--model", run.resolve("savedmodel/ft").toString(), "--batch", "1", "--parallel", "3",
        "--batch-from", "tfrecord:" + tmp.resolve("rec").resolve("val-*.tfrecord")).ok();
    assertEquals(oneByOne.out(), threeAtOnce.out());
    assertEquals(oneByOne.err(), threeAtOnce.err());
    CliRun.of("classify", "--model", run.resolve("savedmodel/ft").toString(), "--batch-from", "records/").badInput("tfrecord:PATTERN");
    CliRun.of("classify", "--model", run.resolve("savedmodel/ft").toString(), "--batch-from",
        "tfrecord:" + tmp.resolve("rec").resolve("none-*.tfrecord")).badInput("matches no file");
    CliRun.of("classify", "--model", run.resolve("savedmodel/ft").toString()).badInput("no images");

    // eval on the same validation slice gives the accuracy the run recorded for the exported weights
    CliRun e = CliRun.of("eval", "--model", run.toString(), "--data", "fashion-mnist", "--limit", "640").ok();
    Matcher top1 = Pattern.compile("top-1: ([0-9.]+) %").matcher(e.out());
    assertTrue(top1.find(), e.out());
    double best = JSON.readTree(run.resolve("summary.json").toFile()).get("best_val_top1").asDouble();
    assertEquals(100 * best, Double.parseDouble(top1.group(1)), 100.0 / 640 + 1e-9, e.out());
    assertTrue(e.out().contains("confusion matrix"), e.out());
    assertTrue(e.out().contains("Ankle boot"), e.out());
  }

  /** Class folders of 28×28 Fashion-MNIST PNGs, plus one file that is not an image. */
  static Path imageFolder(String name, int perClass) throws Exception {
    Path dir = tmp.resolve(name);
    FashionMnist train = FashionMnist.load(FashionMnist.Split.TRAIN);
    String[] classes = {"bag", "sneaker", "trouser"};
    int[] labels = {8, 7, 1};
    int[] have = new int[3];
    for (int i = 0; i < train.count() && (have[0] < perClass || have[1] < perClass || have[2] < perClass); i++) {
      for (int c = 0; c < 3; c++) {
        if (train.label(i) == labels[c] && have[c] < perClass) {
          BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
          img.getRaster().setDataElements(0, 0, 28, 28, train.image(i));
          Path f = dir.resolve(classes[c]).resolve("img" + have[c]++ + ".png");
          Files.createDirectories(f.getParent());
          ImageIO.write(img, "png", f.toFile());
        }
      }
    }
    Files.write(dir.resolve("bag/broken.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0});
    return dir;
  }

  @Test
  void trainsOnAnImageFolderCountingUndecodableImages() throws Exception {
    Path data = imageFolder("folder", 10);
    Path run = tmp.resolve("if");
    CliRun r = CliRun.of("train", "--config", micro(), "--data", data.toString(), "--val-split", "0.3", "--size", "32",
        "--epochs", "2", "--batch", "8", "--lr", "1e-3", "--warmup-epochs", "0", "--ema", "--out", run.toString()).ok();
    assertTrue(r.err().contains("rest-tf: warning: skipped an image that cannot be decoded") && r.err().contains("broken.png"), r.err());
    JsonNode summary = JSON.readTree(run.resolve("summary.json").toFile());
    assertTrue(summary.get("decode_errors").asInt() >= 1, summary.toString());
    assertTrue(Files.isRegularFile(run.resolve("curves.png")));
    JsonNode runJson = JSON.readTree(run.resolve("run.json").toFile());
    assertEquals(3, runJson.get("config").get("num_classes").asInt());
    assertEquals("rrc-flip", runJson.get("options").get("augment").asText());

    CliRun e = CliRun.of("eval", "--model", run.toString(), "--data", data.toString()).ok();
    assertTrue(e.out().contains("decode errors: 1"), e.out());
    assertTrue(e.out().contains("data: " + data) && e.out().contains("31 images"), e.out());
    assertTrue(e.out().contains("(") && e.out().contains(" / 30)"), "30 images decoded: " + e.out());
    assertTrue(e.out().contains("true\\pred"), e.out());
    assertTrue(e.out().contains("2 = trouser"), e.out());
  }

  /** --recipe finetune-384: a 224² checkpoint fine-tuned at 384² (no position-embedding interpolation) and exported at 384². */
  @Test
  void finetunes384FromA224CheckpointAndExportsAt384() throws Exception {
    Path data = imageFolder("folder384", 3);
    Path pth = Fixtures.parity("restv2_tiny-narrow").resolve("weights.pth");
    Path run = tmp.resolve("ft384");
    CliRun r = CliRun.of("train", "--init", pth.toString(), "--data", data.toString(), "--recipe", "finetune-384",
        "--epochs", "1", "--batch", "2", "--val-split", "0.2", "--out", run.toString()).ok();
    assertTrue(r.out().startsWith("recipe finetune-384: "), r.out());
    assertTrue(r.out().contains("weight_decay 1.0E-8") && r.out().contains("aa rand-m9-mstd0.5-inc1") && r.out().contains("mixup 0.0"), r.out());
    JsonNode runJson = JSON.readTree(run.resolve("run.json").toFile());
    assertEquals(384, runJson.path("data").path("preprocessing").path("size").asInt(), runJson.path("data").toString());
    JsonNode recipe = JSON.readTree(run.resolve("recipe.json").toFile());
    assertEquals(runJson.path("options"), recipe, "recipe.json: the run's complete options");
    JsonNode meta = JSON.readTree(run.resolve("savedmodel/ft384/1/assets/rest_tf.json").toFile());
    assertEquals(384, meta.path("preprocessing").path("size").asInt(), meta.path("preprocessing").toString());
    // the recipe file starts another run with the same options; a misspelt key is refused
    Path again = tmp.resolve("again");
    Files.writeString(tmp.resolve("bad.json"), "{\"base\": \"paper\", \"epochs\": 1, \"batch\": 2, \"cutmx\": 1.0}");
    CliRun.of("train", "--init", pth.toString(), "--data", data.toString(), "--recipe", tmp.resolve("bad.json").toString(),
        "--out", again.toString()).badInput("unknown option \"cutmx\" (did you mean \"cutmix\"?)");
    CliRun.of("train", "--init", pth.toString(), "--data", data.toString(), "--recipe", "imagenet", "--epochs", "1", "--batch", "2",
        "--out", again.toString()).badInput("--recipe imagenet", "no preset");
    assertFalse(Files.exists(again));
  }

  @Test
  void startsFromAnOfficialCheckpointOrAFinishedRunWithFrozenParts() throws Exception {
    Path data = imageFolder("folder2", 6);
    Path pth = Fixtures.parity("restv2_tiny-narrow").resolve("weights.pth"); // {'model': ...}, 10 classes, RGB
    Path first = tmp.resolve("from-pth");
    CliRun.of("train", "--init", pth.toString(), "--data", data.toString(), "--freeze", "stem,stage1", "--size", "32",
        "--epochs", "1", "--batch", "6", "--out", first.toString()).ok();
    JsonNode run = JSON.readTree(first.resolve("run.json").toFile());
    assertTrue(run.path("init").path("fresh_head").asBoolean(), "10 → 3 classes: a fresh head");
    assertTrue(run.path("frozen_keys").toString().contains("stage1.0.attn.q.weight"), run.path("frozen_keys").toString());
    assertEquals(96, run.path("config").path("embed_dims").get(3).asInt(), "config detected from the weights");
    assertEquals(3, run.path("config").path("num_classes").asInt());
    // a finished run's export starts the next one; its 3-class head is kept
    Path second = tmp.resolve("from-run");
    CliRun.of("train", "--init", first.toString(), "--data", data.toString(), "--size", "32", "--epochs", "1",
        "--batch", "6", "--out", second.toString()).ok();
    JsonNode run2 = JSON.readTree(second.resolve("run.json").toFile());
    assertFalse(run2.path("init").path("fresh_head").asBoolean(), run2.path("init").toString());
    assertTrue(run2.path("init").path("source").asText().endsWith("savedmodel/from-pth/1"), run2.path("init").toString());
  }

  @Test
  void refusesBadDataBeforeWritingAnything() throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Path out = tmp.resolve("never");
    CliRun.of("train", "--config", micro(), "--data", empty.toString(), "--epochs", "1", "--batch", "2", "--out", out.toString())
        .badInput("no class folders");
    CliRun.of("train", "--config", micro(), "--data", tmp.resolve("nowhere").toString(), "--epochs", "1", "--batch", "2",
        "--out", out.toString()).badInput("no such directory");
    Path noImages = imageFolder("noimages", 2);
    Files.createDirectories(noImages.resolve("dress"));
    Files.writeString(noImages.resolve("dress/notes.txt"), "no images here");
    CliRun.of("train", "--config", micro(), "--data", noImages.toString(), "--epochs", "1", "--batch", "2", "--out", out.toString())
        .badInput("dress", "has no images");
    CliRun.of("train", "--config", micro(), "--data", "fashion-mnist", "--limit", "50", "--epochs", "1", "--batch", "64",
        "--out", out.toString()).badInput("--batch 64", "larger than the training set (50 images)");
    CliRun.of("train", "--config", micro(), "--data", "fashion-mnist", "--epochs", "1", "--batch", "8", "--freeze", "stem,trunk",
        "--out", out.toString()).badInput("--freeze", "trunk");
    CliRun.of("train", "--data", "fashion-mnist", "--epochs", "1", "--batch", "8", "--out", out.toString())
        .badInput("--init", "--variant", "--config");
    assertFalse(Files.exists(out), "nothing written for bad input");
    CliRun.of("eval", "--model", tmp.resolve("nowhere").toString(), "--data", "fashion-mnist").badInput("no such directory");
  }

  @Test
  void aNanLossStopsWithTheLastGoodCheckpointIntactAndResumeChecksTheRun() throws Exception {
    Path run = tmp.resolve("nan");
    String line = CliRun.of("train", "--config", micro(), "--data", "fashion-mnist", "--limit", "64", "--epochs", "1",
        "--batch", "32", "--lr", "1e30", "--out", run.toString()).badInput("NaN", "step 2", "last good checkpoint (step 0)");
    assertTrue(line.contains(run.resolve("checkpoint").toString()), line);
    JsonNode state = JSON.readTree(run.resolve("checkpoint/state.json").toFile());
    assertEquals(0, state.get("step").asInt());
    assertTrue(Files.isRegularFile(run.resolve("checkpoint/state.index")));
    assertFalse(Files.exists(run.resolve("savedmodel")), "no export of a diverged run");

    // a --resume directory from another config, or with other options, is refused
    String narrow = Fixtures.parity("restv2_tiny-narrow").resolve("config.json").toString();
    CliRun.of("train", "--resume", run.toString(), "--config", narrow).badInput("another model", "embed_dims");
    CliRun.of("train", "--resume", run.toString(), "--lr", "1e-3").badInput("options differ", "lr");
    CliRun.of("train", "--resume", tmp.resolve("nowhere").toString()).badInput("not a training run");
    CliRun.of("train", "--config", micro(), "--data", "fashion-mnist", "--epochs", "1", "--batch", "8", "--out", run.toString())
        .badInput("holds a run already", "--resume");
  }

  /** {@code train --resume DIR --limit 640} used to ignore --limit: the run's data cannot change, so it is refused unless it is the run's. */
  @Test
  void resumeWithAnotherLimitIsRefusedNamingTheOption() throws Exception {
    Path run = tmp.resolve("limit");
    CliRun.of("train", "--config", micro(), "--data", "fashion-mnist", "--limit", "32", "--epochs", "1", "--batch", "16",
        "--out", run.toString()).ok();
    String line = CliRun.of("train", "--resume", run.toString(), "--limit", "640").badInput("--limit 640", "run: 32", "cannot change on resume");
    assertFalse(line.contains("\n"), line);
    CliRun.of("train", "--resume", run.toString(), "--limit", "32", "--size", "64").badInput("--size 64", "run: 28");
    CliRun.of("train", "--resume", run.toString(), "--checkpoint-every", "5").badInput("options differ", "--checkpoint-every 5 (run: 0)");
    // the run's own --limit passes the check (then: the run has finished)
    CliRun.of("train", "--resume", run.toString(), "--limit", "32").badInput("has finished");
  }
}
