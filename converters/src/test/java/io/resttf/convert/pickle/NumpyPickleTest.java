package io.resttf.convert.pickle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.convert.CheckpointFiles;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** detectron2's .pkl form (pickles of numpy arrays, written by Python: resources/pkl/make_pkl.py). */
class NumpyPickleTest {
  static final Path DIR = Path.of("src/test/resources/pkl");

  @ParameterizedTest
  @ValueSource(strings = {"arrays_p2.pkl", "arrays_p4.pkl", "plain_p2.pkl"})
  void everyArrayComesBackExactly(String name) throws Exception {
    Path file = DIR.resolve(name);
    assertEquals(CheckpointFiles.Kind.NUMPY_PICKLE, CheckpointFiles.detect(file));
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(file, false, null);
    assertEquals(name.startsWith("plain") ? "plain dict" : "['model']", w.wrapper());
    JsonNode expected = new ObjectMapper().readTree(DIR.resolve("expected.json").toFile());
    assertEquals(expected.size(), w.stateDict().size(), w.stateDict().keySet().toString());
    for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      HostTensor t = w.stateDict().get(e.getKey());
      long[] shape = new long[e.getValue().get("shape").size()];
      for (int i = 0; i < shape.length; i++) shape[i] = e.getValue().get("shape").get(i).asLong();
      assertArrayEquals(shape, t.shape(), e.getKey());
      double[] got = t.toDoubles();
      JsonNode values = e.getValue().get("values");
      assertEquals(values.size(), got.length, e.getKey());
      for (int i = 0; i < got.length; i++) assertEquals(values.get(i).asDouble(), got[i], 0.0, e.getKey() + "[" + i + "]");
    }
    assertEquals("F64", w.stateDict().get("fortran_f8").dtype());
    assertEquals("F16", w.stateDict().get("big_endian_f2").dtype());
    assertEquals("I8", w.stateDict().get("counts_i8").dtype());
  }

  @Test
  void aCommandHiddenInTheAuthorFieldIsRefusedWithoutRunningIt() throws Exception {
    Path marker = Path.of("/tmp/rest-tf-python-marker");
    Files.deleteIfExists(marker);
    Path file = DIR.resolve("evil_d2_os_system.pkl");
    BadInputException e = assertThrows(BadInputException.class, () -> CheckpointFiles.read(file, false, null));
    assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
    assertTrue(e.getMessage().contains("refused to call global posix.system"), e.getMessage());
    assertFalse(Files.exists(marker));
  }

  @Test
  void aListWhereAnArrayBelongsIsNamed() {
    Path file = DIR.resolve("not_arrays.pkl");
    BadInputException e = assertThrows(BadInputException.class, () -> CheckpointFiles.read(file, false, null));
    assertEquals(file + ": w is a list, not a numpy array", e.getMessage());
  }

  @Test
  void truncatedAndForgedArraysFailWithOneLine(@TempDir Path tmp) throws Exception {
    byte[] good = Files.readAllBytes(DIR.resolve("arrays_p4.pkl"));
    for (int cut : new int[] {3, good.length / 2, good.length - 1}) {
      Path f = tmp.resolve("cut" + cut + ".pkl");
      Files.write(f, java.util.Arrays.copyOf(good, cut));
      BadInputException e = assertThrows(BadInputException.class, () -> CheckpointFiles.read(f, false, null), "cut " + cut);
      assertTrue(e.getMessage().startsWith(f + ": ") && !e.getMessage().contains("\n"), e.getMessage());
    }
    assertThrows(BadInputException.class, () -> CheckpointFiles.read(DIR.resolve("arrays_p4.pkl"), true, null),
        "EMA weights cannot come from a .pkl");
  }
}
