package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * bench-soak tells a leak from a plateau by the least-squares RSS slope over the last half of the calls:
 * a plateau with a step before that half is flat, 12 KB per call (the figure of issue 11) is 12,000 KB
 * per 1000 calls, and one noisy sample does not make a trend.
 */
class BenchSoakSlopeTest {
  @Test
  void slopeOverTheLastHalfTellsALeakFromAPlateau() {
    long[] calls = {25_000, 30_000, 35_000, 40_000, 45_000, 50_000};
    assertEquals(0, BenchSoakCommand.slopePer1000(calls, new long[] {630_000, 630_000, 630_000, 630_000, 630_000, 630_000}), 1e-9);
    long[] leak = new long[calls.length];
    for (int i = 0; i < calls.length; i++) leak[i] = 600_000 + 12 * calls[i];
    assertEquals(12_000, BenchSoakCommand.slopePer1000(calls, leak), 1e-6);
    double noisy = BenchSoakCommand.slopePer1000(calls, new long[] {630_000, 630_004, 629_996, 630_000, 630_008, 630_000});
    assertEquals(0, noisy * 25, 1024, "fitted growth over 25,000 calls within noise");
    CliRun.of("bench-soak", "--samples", "2", "--model", "nowhere", "image.png").badInput("--samples");
  }
}
