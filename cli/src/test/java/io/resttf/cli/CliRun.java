package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Runs {@link Main} in-process and captures what it prints. */
record CliRun(int code, String out, String err) {
  static CliRun of(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(args, o, e);
    }
    return new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Asserts success and returns this. */
  CliRun ok() {
    assertEquals(0, code, () -> "exit code; stderr: " + err + "\nstdout: " + out);
    return this;
  }

  /**
   * Asserts exit code 2 and exactly one stderr line "rest-tf: ..." that contains every one of {@code words}
   * (case-insensitive); returns the line.
   */
  String badInput(String... words) {
    assertEquals(2, code, () -> "exit code; stderr: " + err + "\nstdout: " + out);
    return oneLine(words);
  }

  String oneLine(String... words) {
    String[] lines = err.strip().split("\\R");
    assertEquals(1, lines.length, () -> "expected one stderr line, got:\n" + err);
    String line = lines[0];
    assertTrue(line.startsWith("rest-tf: "), line);
    for (String w : words) {
      assertTrue(line.toLowerCase().contains(w.toLowerCase()),
          () -> "stderr line should mention \"" + w + "\": " + line + "  (args " + Arrays.toString(words) + ")");
    }
    assertTrue(!err.contains("\tat "), "no stack trace");
    return line;
  }
}
