package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.TextFormat;
import io.resttf.tensor.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** BASE/models.config lists every exported model so one tensorflow_model_server serves them all. */
class ModelsConfigTest {

  @Test
  void everyExportedModelIsListed(@TempDir Path base) throws Exception {
    // what else lives in the repository's savedmodels/ folder, and leftovers, are not models
    Files.createDirectories(base.resolve("src/main/java"));
    Files.createDirectories(base.resolve("target/classes"));
    Files.writeString(base.resolve("pom.xml"), "<project/>");
    Files.createDirectories(base.resolve("empty_model/.tmp-1-dead"));
    Files.createDirectories(base.resolve("half_model/3")); // a numeric directory without saved_model.pb

    String v2 = TestModels.V2, v1 = TestModels.V1;
    SavedModelExporter ex = new SavedModelExporter(base);
    SavedModelExporter.Result a = ex.export("restv2_tiny", TestModels.config(v2), TestModels.weights(v2), ExportMetadata.defaults());
    Path file = base.resolve("models.config");
    assertEquals(file, a.modelsConfig());
    assertEquals(List.of(List.of("restv2_tiny", base.resolve("restv2_tiny").toAbsolutePath().toString(), "tensorflow")),
        parsed(Files.readString(file)));

    ex.export("rest_lite", TestModels.config(v1), TestModels.weights(v1), ExportMetadata.defaults());
    String text = Files.readString(file);
    assertEquals(List.of(
        List.of("rest_lite", base.resolve("rest_lite").toAbsolutePath().toString(), "tensorflow"),
        List.of("restv2_tiny", base.resolve("restv2_tiny").toAbsolutePath().toString(), "tensorflow")), parsed(text));

    // protobuf text format as TF Serving's ModelServerConfig expects it
    String expected = "model_config_list {\n"
        + "  config {\n    name: \"rest_lite\"\n    base_path: \"" + base.resolve("rest_lite").toAbsolutePath() + "\"\n"
        + "    model_platform: \"tensorflow\"\n  }\n"
        + "  config {\n    name: \"restv2_tiny\"\n    base_path: \"" + base.resolve("restv2_tiny").toAbsolutePath() + "\"\n"
        + "    model_platform: \"tensorflow\"\n  }\n"
        + "}\n";
    assertTrue(text.endsWith(expected), text);
    for (String line : text.split("\n")) {
      assertTrue(line.isEmpty() || line.startsWith("#") || line.matches("\\s*(model_config_list \\{|config \\{|\\}|(name|base_path|model_platform): \"[^\"]*\")"), line);
    }
    ModelServerConfigProto.parse(text);
    try (var s = Files.list(base)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")), "no temporary file left");
    }
  }

  @Test
  void renderEscapesAndTfServingsParserReadsItBack() throws Exception {
    List<ModelsConfig.Entry> entries = List.of(new ModelsConfig.Entry("m.1", Path.of("/data/with \"quote\"/m.1")));
    assertEquals(List.of(List.of("m.1", "/data/with \"quote\"/m.1", "tensorflow")), parsed(ModelsConfig.render(entries)));
    assertEquals(List.of(), parsed(ModelsConfig.render(List.of())));
  }

  /** A field TF Serving's ModelServerConfig does not have (a misspelling) fails, as tensorflow_model_server fails. */
  @Test
  void aMisspeltFieldFailsTheParse() throws Exception {
    String good = ModelsConfig.render(List.of(new ModelsConfig.Entry("m", Path.of("/models/m"),
        new ModelsConfig.Serving("latest:2", Map.of("stable", 1L)))));
    ModelServerConfigProto.parse(good);
    for (String[] typo : new String[][] {{"base_path", "base_pth"}, {"num_versions", "num_version"},
        {"model_version_policy", "version_policy"}, {"version_labels", "version_label"}}) {
      TextFormat.ParseException e = assertThrows(TextFormat.ParseException.class,
          () -> ModelServerConfigProto.parse(good.replace(typo[0], typo[1])), typo[1]);
      assertTrue(e.getMessage().contains(typo[1]), e.getMessage());
    }
  }

  @Test
  void versionPolicyAndLabelsPerModel(@TempDir Path base) throws Exception {
    String v2 = TestModels.V2;
    SavedModelExporter ex = new SavedModelExporter(base);
    ex.export("m", TestModels.config(v2), TestModels.weights(v2), ExportMetadata.defaults());
    ex.export("m", TestModels.config(v2), TestModels.weights(v2), ExportMetadata.defaults());
    ex.export("other", TestModels.config(v2), TestModels.weights(v2), ExportMetadata.defaults());
    Path file = SavedModelExporter.setServing(base, "m", new ModelsConfig.Serving("latest:2", Map.of("stable", 1L, "canary", 2L)));
    DynamicMessage cfg = ModelServerConfigProto.parse(Files.readString(file));
    List<DynamicMessage> configs = ModelServerConfigProto.configs(cfg);
    assertEquals(2, configs.size());
    DynamicMessage m = configs.get(0);
    assertEquals("m", ModelServerConfigProto.field(m, "name"));
    DynamicMessage policy = (DynamicMessage) ModelServerConfigProto.field(m, "model_version_policy");
    DynamicMessage latest = (DynamicMessage) ModelServerConfigProto.field(policy, "latest");
    assertEquals(2, ((Number) ModelServerConfigProto.field(latest, "num_versions")).intValue());
    assertEquals(Map.of("stable", 1L, "canary", 2L), labels(m));
    // the other model keeps TF Serving's defaults (no policy, no labels written)
    assertFalse(configs.get(1).hasField(configs.get(1).getDescriptorForType().findFieldByName("model_version_policy")));
    assertEquals(Map.of(), labels(configs.get(1)));

    // a new version that would unload labelled version 1 (latest:2 then serves 2 and 3): refused, nothing written
    BadInputException refused = assertThrows(BadInputException.class,
        () -> ex.export("m", TestModels.config(v2), TestModels.weights(v2), ExportMetadata.defaults()));
    assertTrue(refused.getMessage().contains("version label stable") && refused.getMessage().contains("not served"),
        refused.getMessage());
    assertEquals(List.of(1L, 2L), SavedModelExporter.versions(base.resolve("m")));
    // the same export moving the labels along (export --version-label stable=2 --version-label canary=this)
    ex.export("m", TestModels.config(v2), TestModels.weights(v2), ExportMetadata.defaults(), SavedModelExporter.Options.DEFAULT
        .withServing(v -> new ModelsConfig.Serving("latest:2", Map.of("stable", 2L, "canary", v))));
    assertEquals(Map.of("stable", 2L, "canary", 3L),
        labels(ModelServerConfigProto.configs(ModelServerConfigProto.parse(Files.readString(file))).get(0)));
    // all and specific render as TF Serving reads them
    SavedModelExporter.setServing(base, "m", new ModelsConfig.Serving("specific:1,3", Map.of("stable", 3L)));
    DynamicMessage specific = (DynamicMessage) ModelServerConfigProto.field((DynamicMessage) ModelServerConfigProto.field(
        ModelServerConfigProto.configs(ModelServerConfigProto.parse(Files.readString(file))).get(0), "model_version_policy"), "specific");
    assertEquals(List.of(1L, 3L), ModelServerConfigProto.field(specific, "versions"));
    SavedModelExporter.setServing(base, "m", new ModelsConfig.Serving("all", Map.of()));
    assertTrue(Files.readString(file).contains("all {"), Files.readString(file));

    // refused with nothing written: a label on a version not served, a version that does not exist, bad syntax
    String before = Files.readString(file);
    assertTrue(assertThrows(BadInputException.class, () -> SavedModelExporter.setServing(base, "m",
        new ModelsConfig.Serving("latest", Map.of("stable", 1L)))).getMessage().contains("not served"));
    assertTrue(assertThrows(BadInputException.class, () -> SavedModelExporter.setServing(base, "m",
        new ModelsConfig.Serving("specific:7", Map.of()))).getMessage().contains("has no version 7"));
    assertThrows(BadInputException.class, () -> new ModelsConfig.Serving("newest", Map.of()));
    assertThrows(BadInputException.class, () -> new ModelsConfig.Serving("latest", Map.of("bad label", 1L)));
    assertEquals(before, Files.readString(file));
    // a hand-edited serving.json with an unknown key is named, not ignored
    Files.writeString(base.resolve("m").resolve("serving.json"), "{\"version_policy\": \"all\", \"versoin_labels\": {}}");
    BadInputException e = assertThrows(BadInputException.class, () -> SavedModelExporter.regenerateModelsConfig(base));
    assertTrue(e.getMessage().contains("unknown key \"versoin_labels\""), e.getMessage());
    assertEquals(before, Files.readString(file));
  }

  /** (name, base_path, model_platform) of each config, as TF Serving's text-format parser reads them. */
  static List<List<String>> parsed(String text) throws Exception {
    return ModelServerConfigProto.configs(ModelServerConfigProto.parse(text)).stream()
        .map(c -> List.of((String) ModelServerConfigProto.field(c, "name"), (String) ModelServerConfigProto.field(c, "base_path"),
            (String) ModelServerConfigProto.field(c, "model_platform")))
        .toList();
  }

  @SuppressWarnings("unchecked")
  static Map<String, Long> labels(DynamicMessage config) {
    Map<String, Long> out = new java.util.TreeMap<>();
    for (DynamicMessage e : (List<DynamicMessage>) ModelServerConfigProto.field(config, "version_labels")) {
      out.put((String) ModelServerConfigProto.field(e, "key"), (Long) ModelServerConfigProto.field(e, "value"));
    }
    return out;
  }
}
