package io.resttf.cli.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deterministic slice of ci/fuzz-cli that runs in CI: a fixed seed and case count through the same
 * driver and worker (one worker JVM), failing with every broken case, its command line and how to rerun it.
 */
class CliFuzzSliceTest {
  static final long SEED = 20251;
  static final int CASES = 250;

  @Test
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void aSliceOfTheFuzzerHoldsEveryInvariant(@TempDir Path work) throws Exception {
    FuzzDriver.Options o = new FuzzDriver.Options();
    o.cases = CASES;
    o.seed = SEED;
    o.work = work;
    o.keepFailed = 0;
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    FuzzDriver.Summary s;
    try (PrintStream p = new PrintStream(log, true, StandardCharsets.UTF_8)) {
      s = FuzzDriver.run(o, p);
    }
    String report = s.report();
    System.out.print(report);
    assertEquals(CASES, s.cases, report);
    assertTrue(s.ok(), () -> report + "\n" + log.toString(StandardCharsets.UTF_8));
    // the slice reaches every kind of case and both exit codes
    assertEquals(CaseGenerator.KINDS.length, s.kinds.size(), report);
    assertTrue(s.exitCodes.getOrDefault("0", 0) > 0 && s.exitCodes.getOrDefault("2", 0) > 0, report);

    // deterministic: the same seed and index make the same case (the worker made the seeds above)
    CaseGenerator g = new CaseGenerator(new Seeds(work.resolve("seeds")).prepare());
    for (int i = 0; i < 40; i++) {
      Path dir = work.resolve("again").resolve(Integer.toString(i));
      FuzzCase a = g.generate(SEED, i, dir);
      ArtifactCheck.delete(dir);
      assertEquals(a, g.generate(SEED, i, dir));
      ArtifactCheck.delete(dir);
    }
  }
}
