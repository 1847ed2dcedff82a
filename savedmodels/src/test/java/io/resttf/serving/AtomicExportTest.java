package io.resttf.serving;

import io.resttf.model.Preprocessing;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.RestConfig;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exports are all or nothing: no version directory from a failed or killed export; no silent overwrite. */
class AtomicExportTest {
  private static final String C = TestModels.V2;

  @AfterEach
  void resetHook() {
    SavedModelExporter.afterStaging = null;
  }

  private static List<String> entries(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static boolean hasNumeric(Path dir) throws IOException {
    return entries(dir).stream().anyMatch(n -> n.matches("[0-9]+"));
  }

  private static boolean hasTemp(Path dir) throws IOException {
    return entries(dir).stream().anyMatch(n -> n.startsWith(".tmp-"));
  }

  private static SavedModelExporter.Result export(Path base, String name, SavedModelExporter.Options o) {
    return new SavedModelExporter(base).export(name, TestModels.config(C), TestModels.weights(C), ExportMetadata.defaults(), o);
  }

  @Test
  void aFailureAfterStagingLeavesNoVersionDirectory(@TempDir Path base) throws IOException {
    SavedModelExporter.afterStaging = staging -> {
      assertTrue(Files.isRegularFile(staging.resolve("saved_model.pb")), "staged completely");
      assertTrue(staging.getFileName().toString().startsWith(".tmp-1-"));
      throw new IllegalStateException("simulated crash");
    };
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> export(base, "m", SavedModelExporter.Options.DEFAULT));
    assertEquals("simulated crash", e.getMessage());
    Path model = base.resolve("m");
    assertFalse(hasNumeric(model), "version directory: " + entries(model));
    assertFalse(hasTemp(model), "temporary directory left: " + entries(model));
    assertTrue(SavedModelExporter.versions(model).isEmpty());
  }

  @Test
  void aKilledExportLeavesNoVersionAndTheNextExportCleansUp(@TempDir Path base) throws Exception {
    Path model = base.resolve("m");
    // SIGKILL: no shutdown hook runs, the temporary directory stays behind
    Path staged = runUntilStaged(base, true);
    assertTrue(Files.isDirectory(staged), "stale temporary directory is there: " + entries(model));
    assertFalse(hasNumeric(model), "no version directory: " + entries(model));
    // TF Serving would see no version at all; the next export removes the leftovers
    SavedModelExporter.Result r = export(base, "m", SavedModelExporter.Options.DEFAULT);
    assertEquals(1, r.version());
    assertFalse(Files.exists(staged));
    assertFalse(hasTemp(model), entries(model).toString());

    // SIGTERM: the shutdown hook removes the temporary directory itself
    Path staged2 = runUntilStaged(base, false);
    assertFalse(Files.exists(staged2), "shutdown hook removed " + staged2 + ": " + entries(model));
    assertFalse(hasTemp(model), entries(model).toString());
    assertEquals(List.of(1L), SavedModelExporter.versions(model));
  }

  /** Starts an export in a child JVM, kills it once the SavedModel is staged, returns the staging path. */
  private static Path runUntilStaged(Path base, boolean forcibly) throws Exception {
    Process p = ChildJvm.builder(InterruptedExportMain.class, base.toString(), "m", C).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
      StringBuilder log = new StringBuilder();
      String line;
      Path staged = null;
      while ((line = out.readLine()) != null) {
        log.append(line).append('\n');
        if (line.startsWith("STAGED ")) {
          staged = Path.of(line.substring(7));
          break;
        }
      }
      if (staged == null) throw new AssertionError("child ended before staging:\n" + log);
      if (forcibly) p.destroyForcibly();
      else p.destroy();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not die");
      return staged;
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void versionsAreNumberedAndNeverSilentlyOverwritten(@TempDir Path base) throws IOException {
    Path model = base.resolve("m");
    assertEquals(1, export(base, "m", SavedModelExporter.Options.DEFAULT).version());
    assertEquals(2, export(base, "m", SavedModelExporter.Options.DEFAULT).version());
    assertEquals(7, export(base, "m", SavedModelExporter.Options.DEFAULT.withVersion(7)).version());
    assertEquals(8, export(base, "m", SavedModelExporter.Options.DEFAULT).version());
    assertEquals(List.of(1L, 2L, 7L, 8L), SavedModelExporter.versions(model));

    String before = Files.readString(model.resolve("2/assets/rest_tf.json"));
    BadInputException e = assertThrows(BadInputException.class,
        () -> export(base, "m", SavedModelExporter.Options.DEFAULT.withVersion(2)));
    assertTrue(e.getMessage().contains("version 2 already exists") && e.getMessage().contains("force"), e.getMessage());
    assertEquals(before, Files.readString(model.resolve("2/assets/rest_tf.json")), "untouched");

    List<String> labels = List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
    SavedModelExporter.Result forced = new SavedModelExporter(base).export("m", TestModels.config(C),
        TestModels.weights(C), ExportMetadata.defaults().withLabels(labels),
        SavedModelExporter.Options.DEFAULT.withVersion(2).withForce(true));
    assertTrue(forced.replaced());
    assertEquals(labels, Files.readAllLines(model.resolve("2/assets/labels.txt")));
    assertEquals(List.of(1L, 2L, 7L, 8L), SavedModelExporter.versions(model));
    assertFalse(hasTemp(model), entries(model).toString());
    try (RestClassifier c = RestClassifier.open(model.resolve("2"))) {
      assertEquals(labels, c.labels());
    }
    // opening the model directory picks the highest version
    try (RestClassifier c = RestClassifier.open(model)) {
      assertEquals(model.resolve("8"), c.directory());
    }
  }

  @Test
  void badNamesVersionsAndWeightsAreRefusedWithoutLeavingAnything(@TempDir Path base) throws IOException {
    for (String bad : List.of("src", "target", "pom.xml", "a/b", "..", ".", ".hidden", "", "two words", "ü")) {
      BadInputException e = assertThrows(BadInputException.class,
          () -> export(base, bad, SavedModelExporter.Options.DEFAULT), bad);
      assertTrue(e.getMessage().contains("model name"), e.getMessage());
      assertFalse(e.getMessage().contains("\n"));
    }
    assertThrows(BadInputException.class, () -> export(base, "m", SavedModelExporter.Options.DEFAULT.withVersion(0)));

    Map<String, HostTensor> missing = new LinkedHashMap<>(TestModels.weights(C));
    missing.remove("head.weight");
    BadInputException w = assertThrows(BadInputException.class, () -> new SavedModelExporter(base)
        .export("m", TestModels.config(C), missing, ExportMetadata.defaults()));
    assertTrue(w.getMessage().contains("head.weight"), w.getMessage());

    RestConfig cfg = TestModels.config(C);
    BadInputException l = assertThrows(BadInputException.class, () -> new SavedModelExporter(base)
        .export("m", cfg, TestModels.weights(C), ExportMetadata.defaults().withLabels(List.of("x"))));
    assertEquals("labels: 1 given but the model has 10 classes", l.getMessage());

    BadInputException s = assertThrows(BadInputException.class, () -> new SavedModelExporter(base)
        .export("m", cfg, TestModels.weights(C), ExportMetadata.defaults()
            .withPreprocessing(Preprocessing.of(100, 0.875, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD))));
    assertTrue(s.getMessage().contains("multiple of 32"), s.getMessage());

    if (Files.isDirectory(base.resolve("m"))) {
      assertFalse(hasNumeric(base.resolve("m")));
      assertFalse(hasTemp(base.resolve("m")));
    }
  }
}
