package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new run's directory that cannot be created is refused before the training graph is built (found by
 * ci/fuzz-cli: {@code train --out /sys/...} built the graph for 20 s, then failed writing run.json).
 */
class RunDirectoryProbeTest {
  @Test
  void anUncreatableRunDirectoryIsRefusedAtOnce(@TempDir Path tmp) throws IOException {
    // /proc refuses new directories even to root
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> RunDirectory.forNewRun(Path.of("/proc/rest-tf-probe/run")));
    assertTrue(e.getMessage().startsWith("/proc/rest-tf-probe/run: cannot write ("), e.getMessage());
    Path file = Files.writeString(tmp.resolve("file"), "x");
    assertThrows(UncheckedIOException.class, () -> RunDirectory.forNewRun(file.resolve("run")));
  }

  @Test
  void theProbeLeavesNothingBehind(@TempDir Path tmp) {
    RunDirectory.forNewRun(tmp.resolve("a/b/run"));
    assertFalse(Files.exists(tmp.resolve("a")), "nothing written before the run starts");
  }
}
