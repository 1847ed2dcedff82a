package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** MAC counts agree with the ResTv2 paper's table (G, 224×224, one decimal). */
class FlopsTest {
  @ParameterizedTest
  @CsvSource({"restv2_tiny, 4.1", "restv2_small, 6.0", "restv2_base, 7.9", "restv2_large, 13.8"})
  void matchesThePaper(String variant, double gmacs) {
    assertEquals(gmacs, Flops.macs(Variants.get(variant), 224, 224) / 1e9, 0.05);
  }
}
