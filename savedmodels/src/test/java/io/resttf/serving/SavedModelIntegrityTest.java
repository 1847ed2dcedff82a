package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.util.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;

/** Issue 11: a broken SavedModel is refused on load, non-finite weights are not exported, no lock file stays. */
class SavedModelIntegrityTest {
  static final String CASE = "restv2_tiny-narrow";

  /** A private copy of the shared export, to break. */
  private static Path copyOfExport(Path tmp) throws IOException {
    Path src = TestModels.exported(CASE).versionDir();
    Path dst = tmp.resolve(CASE).resolve("1");
    try (Stream<Path> s = Files.walk(src)) {
      for (Path p : s.toList()) {
        Path q = dst.resolve(src.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(q);
        else Files.copy(p, q);
      }
    }
    return dst;
  }

  private static String refusal(Path versionDir) {
    BadInputException e = assertThrows(BadInputException.class, () -> RestClassifier.open(versionDir).close());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    return e.getMessage();
  }

  @Test
  void aWholeExportLoadsWithEveryVariableRestored(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    SavedModelIntegrity.checkFiles(v);
    try (RestClassifier c = RestClassifier.open(v)) {
      assertEquals(List.of(), SavedModelIntegrity.uninitialized(c.bundle()));
    }
  }

  @Test
  void deletedVariablesIndexIsRefusedNamingIt(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    Files.delete(v.resolve("variables/variables.index"));
    String m = refusal(v);
    assertTrue(m.contains("broken SavedModel: variables/variables.index is missing"), m);
  }

  @Test
  void deletedVariablesDirectoryIsRefusedNamingIt(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    AtomicFiles.deleteRecursively(v.resolve("variables"));
    String m = refusal(v);
    assertTrue(m.contains("variables/ is missing"), m);
  }

  @Test
  void deletedDataShardIsRefusedNamingIt(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    Files.delete(v.resolve("variables/variables.data-00000-of-00001"));
    String m = refusal(v);
    assertTrue(m.contains("variables.data-"), m);
  }

  @Test
  void missingShardOfSeveralIsNamed(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    Path vars = v.resolve("variables");
    Files.move(vars.resolve("variables.data-00000-of-00001"), vars.resolve("variables.data-00000-of-00002"));
    String m = refusal(v);
    assertTrue(m.contains("variables/variables.data-00001-of-00002 is missing"), m);
  }

  @Test
  void deletedGraphIsRefusedNamingIt(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    Files.delete(v.resolve("saved_model.pb"));
    String m = refusal(v);
    assertTrue(m.contains("saved_model.pb"), m);
  }

  @Test
  void truncatedDataShardIsRefusedWithoutTensorFlowsWording(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    Path shard = v.resolve("variables/variables.data-00000-of-00001");
    Files.write(shard, new byte[16]);
    String m = refusal(v);
    assertTrue(m.contains("cannot load the SavedModel"), m);
    assertFalse(m.contains("{{node"), m);
  }

  /** The check after the restore is what catches TF's silent skip: a bundle loaded without its index. */
  @Test
  void variablesLeftUninitialisedByTheLoaderAreFound(@TempDir Path tmp) throws IOException {
    Path v = copyOfExport(tmp);
    Files.delete(v.resolve("variables/variables.index"));
    try (SavedModelBundle b = SavedModelBundle.load(v.toString(), ServingSignatures.TAG)) {
      List<String> missing = SavedModelIntegrity.uninitialized(b);
      assertFalse(missing.isEmpty());
    }
  }

  @Test
  void nonFiniteWeightsAreRefusedByExportNamingTheKeys(@TempDir Path tmp) throws IOException {
    Map<String, HostTensor> weights = new LinkedHashMap<>(TestModels.weights(CASE));
    String key = weights.keySet().stream().filter(k -> weights.get(k).isFloating()).findFirst().orElseThrow();
    HostTensor t = weights.get(key);
    float[] v = t.toFloats().clone();
    v[0] = Float.NaN;
    v[v.length - 1] = Float.POSITIVE_INFINITY;
    weights.put(key, HostTensor.ofFloats(t.shape(), v));
    SavedModelExporter exporter = new SavedModelExporter(tmp);
    BadInputException e = assertThrows(BadInputException.class,
        () -> exporter.export("nan", TestModels.config(CASE), weights, TestModels.metadata(CASE)));
    assertTrue(e.getMessage().contains(key + " (2 values)"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("nan")), "refused before anything is written");
    var r = exporter.export("nan", TestModels.config(CASE), weights, TestModels.metadata(CASE),
        SavedModelExporter.Options.DEFAULT.withAllowNonFinite(true));
    assertTrue(Files.isDirectory(r.versionDir()));
  }

  @Test
  void noLockFileStaysAfterAnExportNorAfterAFailedOne(@TempDir Path tmp) throws IOException {
    SavedModelExporter exporter = new SavedModelExporter(tmp);
    exporter.export("ok", TestModels.config(CASE), TestModels.weights(CASE), TestModels.metadata(CASE));
    Map<String, HostTensor> partial = new LinkedHashMap<>(TestModels.weights(CASE));
    partial.remove(partial.keySet().iterator().next());
    assertThrows(BadInputException.class,
        () -> exporter.export("ok", TestModels.config(CASE), partial, TestModels.metadata(CASE)));
    assertThrows(BadInputException.class,
        () -> exporter.export("fresh", TestModels.config(CASE), partial, TestModels.metadata(CASE)));
    try (Stream<Path> s = Files.walk(tmp)) {
      List<Path> locks = s.filter(p -> p.getFileName().toString().endsWith(".lock")).toList();
      assertEquals(List.of(), locks);
    }
    assertEquals(List.of(), SavedModelExporter.versions(tmp.resolve("fresh")), "a failed first export leaves no version");
    assertEquals(List.of(1L), SavedModelExporter.versions(tmp.resolve("ok")));
  }
}
