package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
    assertEquals(List.of(new ModelsConfig.Entry("restv2_tiny", base.resolve("restv2_tiny").toAbsolutePath())),
        ModelsConfig.parse(Files.readString(file)));

    ex.export("rest_lite", TestModels.config(v1), TestModels.weights(v1), ExportMetadata.defaults());
    String text = Files.readString(file);
    List<ModelsConfig.Entry> entries = ModelsConfig.parse(text);
    assertEquals(List.of(
        new ModelsConfig.Entry("rest_lite", base.resolve("rest_lite").toAbsolutePath()),
        new ModelsConfig.Entry("restv2_tiny", base.resolve("restv2_tiny").toAbsolutePath())), entries);
    for (ModelsConfig.Entry e : entries) assertTrue(e.basePath().isAbsolute());

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
    try (var s = Files.list(base)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")), "no temporary file left");
    }
  }

  @Test
  void renderEscapesAndParseRoundTrips() {
    List<ModelsConfig.Entry> entries = List.of(new ModelsConfig.Entry("m.1", Path.of("/data/with \"quote\"/m.1")));
    assertEquals(entries, ModelsConfig.parse(ModelsConfig.render(entries)));
    assertEquals(List.of(), ModelsConfig.parse(ModelsConfig.render(List.of())));
    assertThrows(IllegalArgumentException.class, () -> ModelsConfig.parse("nonsense"));
  }
}
