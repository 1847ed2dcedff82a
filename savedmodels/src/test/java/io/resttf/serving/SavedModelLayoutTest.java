package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.model.RestConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;

/** What lies on disk after an export: the TF Serving layout, the signature defs, the metadata. */
class SavedModelLayoutTest {

  @Test
  void versionDirectoryHasTheTfServingLayout() throws Exception {
    SavedModelExporter.Result r = TestModels.exported(TestModels.V2);
    Path v = r.versionDir();
    assertEquals(r.version(), Long.parseLong(v.getFileName().toString()));
    assertTrue(Files.isRegularFile(v.resolve("saved_model.pb")));
    assertTrue(Files.isRegularFile(v.resolve("variables/variables.index")));
    try (var s = Files.list(v.resolve("variables"))) {
      assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("variables.data-")), "variables data shard");
    }
    assertTrue(Files.isRegularFile(v.resolve("assets/labels.txt")));
    assertTrue(Files.isRegularFile(v.resolve("assets/rest_tf.json")));
    try (var s = Files.list(v.getParent())) {
      List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
      assertFalse(names.stream().anyMatch(n -> n.startsWith(".tmp-")), "no temporary directory left: " + names);
    }
  }

  @Test
  void savedModelProtoHoldsTheSignatureDefs() throws Exception {
    Path v = TestModels.exported(TestModels.V2).versionDir();
    SavedModel sm = SavedModel.parseFrom(Files.readAllBytes(v.resolve("saved_model.pb")));
    assertEquals(1, sm.getMetaGraphsCount());
    MetaGraphDef mg = sm.getMetaGraphs(0);
    assertEquals(List.of("serve"), mg.getMetaInfoDef().getTagsList());
    assertTrue(mg.hasSaverDef(), "variables restore through the SaverDef");
    Map<String, SignatureDef> sigs = new TreeMap<>(mg.getSignatureDefMap());
    assertEquals(List.of("classify", "classify_images", "features", "preprocess_images", "serving_default"), new ArrayList<>(sigs.keySet()));
    for (var s : sigs.entrySet()) {
      assertEquals(s.getKey().equals("classify") ? "tensorflow/serving/classify" : "tensorflow/serving/predict",
          s.getValue().getMethodName(), s.getKey());
    }

    // TF Serving's Classify API: exactly one DT_STRING input "inputs" (serialized tf.Example), outputs
    // "classes" (DT_STRING) and "scores" (DT_FLOAT) of one shape
    SignatureDef cl = sigs.get("classify");
    assertEquals(List.of("inputs"), new ArrayList<>(cl.getInputsMap().keySet()));
    check(cl.getInputsMap().get("inputs"), DataType.DT_STRING, -1);
    assertEquals(List.of("classes", "scores"), new ArrayList<>(new TreeMap<>(cl.getOutputsMap()).keySet()));
    check(cl.getOutputsMap().get("classes"), DataType.DT_STRING, -1, 5);
    check(cl.getOutputsMap().get("scores"), DataType.DT_FLOAT, -1, 5);

    SignatureDef sd = sigs.get("serving_default");
    check(sd.getInputsMap().get("pixel_values"), DataType.DT_FLOAT, -1, -1, -1, 3);
    assertEquals(1, sd.getInputsCount());
    check(sd.getOutputsMap().get("logits"), DataType.DT_FLOAT, -1, 10);
    check(sd.getOutputsMap().get("probabilities"), DataType.DT_FLOAT, -1, 10);
    assertEquals(2, sd.getOutputsCount());

    SignatureDef ci = sigs.get("classify_images");
    check(ci.getInputsMap().get("image_bytes"), DataType.DT_STRING, -1);
    assertEquals(1, ci.getInputsCount());
    check(ci.getOutputsMap().get("probabilities"), DataType.DT_FLOAT, -1, 10);
    check(ci.getOutputsMap().get("top_k_indices"), DataType.DT_INT32, -1, 5);
    check(ci.getOutputsMap().get("top_k_labels"), DataType.DT_STRING, -1, 5);
    check(ci.getOutputsMap().get("top_k_probabilities"), DataType.DT_FLOAT, -1, 5);

    SignatureDef f = sigs.get("features");
    check(f.getInputsMap().get("pixel_values"), DataType.DT_FLOAT, -1, -1, -1, 3);
    RestConfig cfg = TestModels.config(TestModels.V2);
    for (int s = 0; s < 4; s++) check(f.getOutputsMap().get("stage" + (s + 1)), DataType.DT_FLOAT, -1, -1, -1, cfg.dim(s));
    assertEquals(4, f.getOutputsCount());

    SignatureDef pre = sigs.get("preprocess_images");
    check(pre.getInputsMap().get("image_bytes"), DataType.DT_STRING, -1);
    check(pre.getOutputsMap().get("pixel_values"), DataType.DT_FLOAT, -1, 224, 224, 3);

    // the graph carries the decode functions of the preprocessing loop
    assertTrue(mg.getGraphDef().getLibrary().getFunctionCount() >= 2);
  }

  /**
   * The MetaGraphDef as TF Python's builder writes it with strip_default_attrs: the TF version, the op list,
   * no attribute equal to its registered default, no op newer than needed, and the assets registered.
   */
  @Test
  void savedModelProtoIsFinishedForOtherRuntimes() throws Exception {
    Path v = TestModels.exported(TestModels.V2).versionDir();
    MetaGraphDef mg = SavedModel.parseFrom(Files.readAllBytes(v.resolve("saved_model.pb"))).getMetaGraphs(0);
    MetaGraphDef.MetaInfoDef info = mg.getMetaInfoDef();
    assertEquals(org.tensorflow.TensorFlow.version(), info.getTensorflowVersion());
    assertTrue(info.getTensorflowVersion().startsWith("2.18"), info.getTensorflowVersion());
    assertTrue(info.getStrippedDefaultAttrs());

    Map<String, org.tensorflow.proto.OpDef> registry = MetaGraphFinisher.registeredOps();
    List<org.tensorflow.proto.NodeDef> nodes = new ArrayList<>(mg.getGraphDef().getNodeList());
    java.util.Set<String> functions = new java.util.TreeSet<>();
    for (var f : mg.getGraphDef().getLibrary().getFunctionList()) {
      nodes.addAll(f.getNodeDefList());
      functions.add(f.getSignature().getName());
    }
    java.util.Set<String> used = new java.util.TreeSet<>();
    int checkedAttrs = 0;
    for (var n : nodes) {
      if (functions.contains(n.getOp())) continue;
      used.add(n.getOp());
      var def = registry.get(n.getOp());
      assertNotNull(def, n.getOp());
      for (var a : def.getAttrList()) {
        var val = n.getAttrMap().get(a.getName());
        if (val == null) continue;
        checkedAttrs++;
        assertFalse(a.hasDefaultValue() && a.getDefaultValue().equals(val),
            n.getName() + " (" + n.getOp() + ") keeps default-valued attribute " + a.getName());
      }
    }
    assertTrue(checkedAttrs > 1000, "attributes checked: " + checkedAttrs);
    assertFalse(used.contains("BatchMatMulV3"), "BatchMatMulV3 where V2 computes the same");
    assertTrue(used.contains("BatchMatMulV2"));
    assertFalse(used.contains("ParseExampleV2"), "the V1 ParseExample every runtime has");
    List<String> listed = info.getStrippedOpList().getOpList().stream().map(o -> o.getName()).toList();
    assertEquals(new ArrayList<>(used), listed, "stripped_op_list = the ops the graph uses, sorted");
    for (var o : info.getStrippedOpList().getOpList()) assertEquals(registry.get(o.getName()), o, o.getName());

    // assets: each file under assets/ bound to a scalar string constant of the graph (fed its path on load)
    Map<String, String> assets = new TreeMap<>();
    for (var a : mg.getAssetFileDefList()) {
      assertEquals(DataType.DT_STRING, a.getTensorInfo().getDtype(), a.getFilename());
      assertEquals(0, a.getTensorInfo().getTensorShape().getDimCount(), a.getFilename());
      assets.put(a.getFilename(), a.getTensorInfo().getName());
    }
    assertEquals(List.of("labels.txt", "rest_tf.json"), new ArrayList<>(assets.keySet()));
    for (var a : assets.entrySet()) {
      assertTrue(Files.isRegularFile(v.resolve("assets").resolve(a.getKey())), a.getKey());
      String op = a.getValue().substring(0, a.getValue().indexOf(':'));
      var node = mg.getGraphDef().getNodeList().stream().filter(n -> n.getName().equals(op)).findFirst().orElseThrow();
      assertEquals("Const", node.getOp());
      assertEquals(a.getKey(), node.getAttrMap().get("value").getTensor().getStringVal(0).toStringUtf8());
    }
  }

  private static void check(TensorInfo t, DataType dtype, long... dims) {
    assertNotNull(t, "missing tensor");
    assertEquals(dtype, t.getDtype(), t.getName());
    assertFalse(t.getTensorShape().getUnknownRank(), t.getName());
    long[] got = t.getTensorShape().getDimList().stream().mapToLong(d -> d.getSize()).toArray();
    assertEquals(java.util.Arrays.toString(dims), java.util.Arrays.toString(got), t.getName());
  }

  @Test
  void metadataDescribesTheExport() throws Exception {
    SavedModelExporter.Result r = TestModels.exported(TestModels.V2);
    ObjectMapper json = new ObjectMapper();
    JsonNode m = json.readTree(r.versionDir().resolve("assets/rest_tf.json").toFile());
    assertEquals("rest-tf-savedmodel", m.path("format").asText());
    assertEquals("restv2_tiny", m.path("variant").asText());
    assertEquals(TestModels.config(TestModels.V2), RestConfig.fromJson(m.get("config").toString(), "rest_tf.json"));
    JsonNode pre = m.get("preprocessing");
    assertEquals(224, pre.get("size").asInt());
    assertEquals(256, pre.get("resize_size").asInt());
    assertEquals(0.875, pre.get("crop_pct").asDouble());
    assertEquals("bicubic", pre.get("interpolation").asText());
    assertEquals(List.of(0.485, 0.456, 0.406), doubles(pre.get("mean")));
    assertEquals(List.of(0.229, 0.224, 0.225), doubles(pre.get("std")));
    assertEquals(10, m.get("labels").size());
    assertEquals("class_0", m.get("labels").get(0).asText());
    Path ckpt = TestModels.fixture(TestModels.V2).resolve("weights.safetensors");
    assertEquals(ckpt.toString(), m.at("/source/checkpoint").asText());
    assertEquals(ExportMetadata.sha256(ckpt), m.at("/source/sha256").asText());
    assertTrue(m.at("/source/sha256").asText().matches("[0-9a-f]{64}"));
    assertEquals("0.1.0-SNAPSHOT", m.get("rest_tf_version").asText());
    Instant.parse(m.get("exported_at").asText());
    assertEquals("tensorflow/serving/predict", m.at("/signatures/classify_images/method_name").asText());

    List<String> labels = Files.readAllLines(r.versionDir().resolve("assets/labels.txt"));
    assertEquals(10, labels.size());
    assertEquals("class_9", labels.get(9));

    JsonNode model = json.readTree(r.modelJson().toFile());
    assertEquals(r.version(), model.get("latest_version").asLong());
    assertEquals(m.get("config"), model.get("config"));
    assertTrue(model.get("versions").isArray());
  }

  @Test
  void imagenetLabelsAreTheShortNames() {
    List<String> l = ImageNetLabels.shortNames();
    assertEquals(1000, l.size());
    assertEquals("tench", l.get(0));
    assertEquals("goldfish", l.get(1));
    assertEquals("great white shark", l.get(2));
    assertEquals("toilet tissue", l.get(999));
    assertEquals("n01440764", ImageNetLabels.synsets().get(0));
    // 1000-class models get them by default
    ExportMetadata m = ExportMetadata.defaults().resolve(TestModels.config(TestModels.V2).withNumClasses(1000));
    assertEquals(l, m.labels());
  }

  @Test
  void aBackboneWithoutHeadExportsFeaturesOnly(@org.junit.jupiter.api.io.TempDir Path base) throws Exception {
    RestConfig cfg = TestModels.config(TestModels.V2).withNumClasses(0);
    Map<String, io.resttf.tensor.HostTensor> sd = new java.util.LinkedHashMap<>(TestModels.weights(TestModels.V2));
    sd.remove("head.weight");
    sd.remove("head.bias");
    SavedModelExporter.Result r = new SavedModelExporter(base).export("backbone", cfg, sd, ExportMetadata.defaults());
    assertEquals(List.of("features", "preprocess_images"), r.signatures());
    SavedModel sm = SavedModel.parseFrom(Files.readAllBytes(r.versionDir().resolve("saved_model.pb")));
    assertEquals(java.util.Set.of("features", "preprocess_images"), sm.getMetaGraphs(0).getSignatureDefMap().keySet());
    assertEquals("", Files.readString(r.versionDir().resolve("assets/labels.txt")));
    try (RestClassifier c = RestClassifier.open(r.versionDir())) {
      io.resttf.tensor.HostTensor x = io.resttf.tensor.Layouts.nchwToNhwc(TestModels.npy(TestModels.V2, "input_1.npy"));
      io.resttf.tensor.HostTensor stage4 = c.features(x).get(3);
      io.resttf.tensor.HostTensor ref = TestModels.npy(TestModels.V2, "stage4_1.npy");
      assertTrue(TestModels.maxAbsDiff(ref.toFloats(), stage4.toFloats()) / Math.max(1, TestModels.maxAbs(ref.toFloats())) < 1e-4);
      io.resttf.tensor.BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(
          io.resttf.tensor.BadInputException.class, () -> c.classify(TestModels.resource("pil/odd_333x517.png")));
      assertTrue(e.getMessage().contains("has no signature classify_images"), e.getMessage());
    }
  }

  private static List<Double> doubles(JsonNode a) {
    List<Double> out = new ArrayList<>();
    a.forEach(x -> out.add(x.asDouble()));
    return out;
  }
}
