package io.resttf.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.RestConfig;
import io.resttf.model.Variants;
import io.resttf.tensor.BadInputException;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigDetectorTest {
  static List<String> variants() {
    return Fixtures.VARIANTS;
  }

  static List<String> cases() {
    return Fixtures.parityCases().stream()
        .filter(c -> Files.exists(Fixtures.parity(c).resolve("weights.safetensors"))).toList();
  }

  static Map<String, long[]> manifestShapes(String variant) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (JsonNode e : Fixtures.json(Fixtures.manifest(variant)).get("state_dict")) {
      long[] shape = new long[e.get(1).size()];
      for (int i = 0; i < shape.length; i++) shape[i] = e.get(1).get(i).asLong();
      shapes.put(e.get(0).asText(), shape);
    }
    return shapes;
  }

  @ParameterizedTest
  @MethodSource("variants")
  void detectsEveryReleasedVariant(String variant) {
    ConfigDetector.Detection d = ConfigDetector.detectShapes(manifestShapes(variant));
    assertEquals(variant, d.variant());
    assertEquals(1, d.widthDivisor());
    assertEquals(Variants.get(variant), d.config());
  }

  @ParameterizedTest
  @MethodSource("cases")
  void detectsEveryParityCase(String caseName) {
    Path dir = Fixtures.parity(caseName);
    JsonNode cfg = Fixtures.json(dir.resolve("config.json"));
    ConfigDetector.Detection d = ConfigDetector.detect(Safetensors.read(dir.resolve("weights.safetensors")));
    assertEquals(cfg.get("variant").asText(), d.variant(), d.explanation());
    assertEquals(cfg.get("width_divisor").asInt(), d.widthDivisor());
    RestConfig expected = RestConfig.read(dir.resolve("config.json"));
    assertEquals(expected, d.config());
  }

  @Test
  void explainsWhyHeadsOfAnUnknownV2ModelAreAmbiguous() {
    Map<String, long[]> s = manifestShapes("restv2_tiny");
    s.remove("stage3.5.norm1.weight"); // still depth 6 by index; change depth instead:
    Map<String, long[]> renamed = new LinkedHashMap<>();
    s.forEach((k, v) -> { if (!k.startsWith("stage3.5.")) renamed.put(k, v); });
    BadInputException e = assertThrows(BadInputException.class, () -> ConfigDetector.detectShapes(renamed));
    assertTrue(e.getMessage().contains("num_heads"), e.getMessage());
    assertTrue(e.getMessage().contains("--config"), e.getMessage());
  }

  @Test
  void refusesSomethingThatIsNotResT() {
    BadInputException e = assertThrows(BadInputException.class,
        () -> ConfigDetector.detectShapes(Map.of("conv1.weight", new long[] {64, 3, 7, 7})));
    assertTrue(e.getMessage().contains("stem.conv1.weight"), e.getMessage());
  }
}
