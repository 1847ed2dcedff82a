package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Config files are parsed strictly: known keys only, whole numbers where integers go, values in bounds. */
class RestConfigStrictTest {
  static final String BASE = "\"family\": \"v2\", \"embed_dims\": [16, 32, 64, 128], \"num_heads\": [1, 2, 4, 8],"
      + " \"depths\": [1, 1, 1, 1], \"sr_ratios\": [8, 4, 2, 1], \"mlp_ratios\": [4, 4, 4, 4], \"num_classes\": 10, \"in_chans\": 3";

  static String refused(String json) {
    return assertThrows(BadInputException.class, () -> RestConfig.fromJson(json, "c.json")).getMessage();
  }

  static String with(String key, String value) {
    return "{" + BASE.replaceAll("\"" + key + "\": (\\[[^\\]]*\\]|[^,]*)", "\"" + key + "\": " + value) + "}";
  }

  @Test
  void theBaseIsValid() {
    assertEquals(List.of(16, 32, 64, 128), RestConfig.fromJson("{" + BASE + "}", "c.json").embedDims());
  }

  @Test
  void misspeltKeySuggestsTheNearest() {
    String m = refused("{" + BASE + ", \"layer_norm_epsilon\": 1e-6}");
    assertEquals("c.json: unknown config key \"layer_norm_epsilon\" (did you mean layer_norm_eps?)", m);
    assertTrue(refused("{" + BASE + ", \"embed_dim\": 3}").contains("did you mean embed_dims?"));
  }

  @Test
  void unrelatedKeyListsTheValidOnes() {
    String m = refused("{" + BASE + ", \"colour\": \"red\"}");
    assertTrue(m.startsWith("c.json: unknown config key \"colour\" (valid keys: apply_transform, "), m);
  }

  @Test
  void nonIntegerDimsAreRefused() {
    assertEquals("c.json: embed_dims[0] must be an integer, got 32.5", refused(with("embed_dims", "[32.5, 32, 64, 128]")));
    assertTrue(refused(with("depths", "[\"1\", 1, 1, 1]")).contains("depths[0] must be an integer"));
    assertTrue(refused(with("num_classes", "10.5")).contains("num_classes must be an integer"));
    // a whole number written with an exponent or a zero fraction is that number
    assertEquals(16, RestConfig.fromJson(with("embed_dims", "[16.0, 32, 64, 128]"), "c.json").dim(0));
  }

  @Test
  void outOfRangeNumbersAreRefused() {
    assertTrue(refused(with("embed_dims", "[1e9, 32, 64, 128]")).contains("between 1 and 65536"));
    assertTrue(refused(with("embed_dims", "[1e12, 32, 64, 128]")).contains("embed_dims[0] is out of range"));
    assertTrue(refused(with("embed_dims", "[-16, 32, 64, 128]")).contains("embed_dims entries must be integers between 1"));
    assertTrue(refused(with("depths", "[1, 1, 10000000, 1]")).contains("depths entries must be integers between 1 and 1000"));
    assertTrue(refused(with("depths", "[0, 1, 1, 1]")).contains("depths"));
    assertTrue(refused(with("mlp_ratios", "[4, 4, 4, 1000]")).contains("mlp_ratios"));
    assertTrue(refused(with("num_classes", "-1")).contains("num_classes must be between 0"));
    assertTrue(refused(with("num_classes", "100000000")).contains("num_classes must be between 0"));
    assertTrue(refused(with("in_chans", "0")).contains("in_chans"));
    assertTrue(refused("{" + BASE + ", \"layer_norm_eps\": 0}").contains("layer_norm_eps"));
    assertTrue(refused("{" + BASE + ", \"layer_norm_eps\": 1e300}").contains("layer_norm_eps"));
  }

  @Test
  void numbersBeyondDoubleAreRefusedAsOutOfRange() {
    // found by ci/fuzz-cli: 1e400 is an infinite double to Jackson, and BigDecimal of it threw (exit 1)
    assertEquals("c.json: num_heads[2] is out of range, got Infinity", refused(with("num_heads", "[1, 2, 1e400, 8]")));
    assertTrue(refused(with("num_classes", "-1e400")).contains("num_classes is out of range"));
    assertTrue(refused("{" + BASE + ", \"layer_norm_eps\": 1e400}").contains("layer_norm_eps"));
    assertTrue(refused("{" + BASE + ", \"drop_path_rate\": -1e400}").contains("drop_path_rate"));
  }

  @Test
  void wrongTypesAreRefused() {
    assertTrue(refused("{" + BASE + ", \"qkv_bias\": \"yes\"}").contains("qkv_bias must be true or false"));
    assertTrue(refused("{" + BASE + ", \"layer_norm_eps\": \"small\"}").contains("layer_norm_eps must be a number"));
    assertTrue(refused(with("family", "2")).contains("family"));
    assertTrue(refused(with("embed_dims", "64")).contains("embed_dims must be a list"));
  }

  @Test
  void everyFixtureConfigLoads() throws Exception {
    try (Stream<Path> files = Files.walk(Fixtures.root())) {
      List<Path> configs = files.filter(p -> p.getFileName().toString().equals("config.json")
          || p.getParent().getFileName().toString().equals("manifests")).toList();
      assertTrue(configs.size() >= 18, configs.toString());
      for (Path p : configs) RestConfig.read(p);
    }
  }

  @Test
  void whatItWritesItReads() {
    for (String v : Variants.names()) {
      RestConfig c = Variants.get(v).withDropPathRate(0.1);
      assertEquals(c, RestConfig.fromJson(c.toJson(), v));
      assertEquals(c, RestConfig.fromJson("{\"config\": " + c.toJsonNode() + ", \"num_parameters\": 1}", v));
    }
  }
}
