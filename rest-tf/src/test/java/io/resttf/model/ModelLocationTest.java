package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.ModelLocation.Kind;
import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of model path is told apart by its files alone; anything else is a one-line error naming it. */
class ModelLocationTest {
  @TempDir Path tmp;

  private Path savedModel(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve(ModelLocation.SAVED_MODEL_PB), "graph");
    return dir;
  }

  @Test
  void tellsEveryKindApart() throws IOException {
    Path file = Files.writeString(tmp.resolve("w.pth"), "x");
    assertEquals(Kind.CHECKPOINT_FILE, ModelLocation.of(file).kind());

    Path model = tmp.resolve("models/m");
    savedModel(model.resolve("1"));
    Path v10 = savedModel(model.resolve("10"));
    Files.createDirectories(model.resolve("11")); // incomplete: no saved_model.pb
    Files.createDirectories(model.resolve("12x"));
    assertEquals(Kind.MODEL_DIRECTORY, ModelLocation.of(model).kind());
    assertEquals(List.of(1L, 10L), ModelLocation.versions(model));
    assertEquals(v10, ModelLocation.savedModel(model), "the highest complete version, numerically");
    assertEquals(Kind.VERSION_DIRECTORY, ModelLocation.of(v10).kind());
    assertEquals(v10, ModelLocation.savedModel(v10));

    Path run = Files.createDirectories(tmp.resolve("run"));
    Files.writeString(run.resolve(ModelLocation.RUN_FILE), "{}");
    Files.createDirectories(run.resolve("checkpoint"));
    assertEquals(Kind.RUN_DIRECTORY, ModelLocation.of(run).kind());
    BadInputException unfinished = assertThrows(BadInputException.class, () -> ModelLocation.savedModel(run));
    assertTrue(unfinished.getMessage().contains("without an export"), unfinished.getMessage());
    Path exported = savedModel(run.resolve(ModelLocation.RUN_EXPORT_DIR).resolve("fashion").resolve("1"));
    assertEquals(exported, ModelLocation.savedModel(run));

    Path converted = Files.createDirectories(tmp.resolve("converted/checkpoint"));
    converted = converted.getParent();
    Files.writeString(converted.resolve(ModelLocation.CONFIG_FILE), "{}");
    assertEquals(Kind.CONVERT_OUTPUT, ModelLocation.of(converted).kind());
    Path cm = converted;
    assertTrue(assertThrows(BadInputException.class, () -> ModelLocation.savedModel(cm)).getMessage().contains("export it"));
    Path convertedVersion = savedModel(converted.resolve(ModelLocation.CONVERT_SAVED_MODEL).resolve("1"));
    assertEquals(convertedVersion, ModelLocation.savedModel(converted));
  }

  @Test
  void anythingElseIsOneLineNamingThePath() throws IOException {
    Path missing = tmp.resolve("missing");
    assertEquals(missing + ": no such file or directory", assertThrows(BadInputException.class, () -> ModelLocation.of(missing)).getMessage());
    assertEquals(missing + ": no such directory", assertThrows(BadInputException.class, () -> ModelLocation.savedModel(missing)).getMessage());
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    String m = assertThrows(BadInputException.class, () -> ModelLocation.of(empty)).getMessage();
    assertTrue(m.startsWith(empty + ": not a model ("), m);
    assertTrue(m.lines().count() == 1, m);
    Path file = Files.writeString(tmp.resolve("w.safetensors"), "x");
    assertEquals(file, ModelLocation.require(file, Kind.CHECKPOINT_FILE).path());
    Path version = savedModel(tmp.resolve("m/1"));
    assertEquals(version + ": a SavedModel version directory, not a checkpoint file",
        assertThrows(BadInputException.class, () -> ModelLocation.require(version, Kind.CHECKPOINT_FILE)).getMessage());
    String f = assertThrows(BadInputException.class, () -> ModelLocation.savedModel(file)).getMessage();
    assertTrue(f.startsWith(file + ": a file, not a SavedModel directory"), f);
  }
}
