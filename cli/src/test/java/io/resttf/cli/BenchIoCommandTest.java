package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.torch.TorchCheckpoint;
import io.resttf.model.RestConfig;
import io.resttf.model.Variants;
import io.resttf.tensor.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchIoCommandTest {
  static final Pattern FINAL = Pattern.compile(
      "read\\+map / raw read: \\d+\\.\\dx \\(vs Files\\.readAllBytes: \\d+\\.\\dx\\), peak heap: \\d+\\.\\dx file size");
  static final Pattern FILE = Pattern.compile("^file: +(\\S+) \\(", Pattern.MULTILINE);
  /** restv2_tiny at an eighth of its widths: small, and recognisable from the shapes alone. */
  static final String NARROW_TINY = "{\"family\": \"v2\", \"embed_dims\": [12, 24, 48, 96], \"num_heads\": [1, 2, 4, 8],"
      + " \"depths\": [1, 2, 6, 2], \"sr_ratios\": [8, 4, 2, 1], \"mlp_ratios\": [4, 4, 4, 4],"
      + " \"num_classes\": 10, \"in_chans\": 3}";

  static String lastLine(String out) {
    List<String> lines = out.strip().lines().toList();
    return lines.get(lines.size() - 1);
  }

  @Test
  void syntheticRestLiteRunsAndCleansUp() {
    CliRun r = CliRun.of("bench-io", "--variant", "rest_lite", "--repeats", "1", "--warmup", "0").ok();
    assertTrue(FINAL.matcher(lastLine(r.out())).matches(), r.out());
    for (String row : List.of("(1a) raw read (FileChannel)", "(1b) raw read (Files.readAllBytes)",
        "(2) CheckpointFiles.read", "(3) WeightMapping.toTf", "(2)+(3) read + map", "page cache", "variant rest_lite")) {
      assertTrue(r.out().contains(row), () -> "missing \"" + row + "\" in:\n" + r.out());
    }
    Matcher m = FILE.matcher(r.out());
    assertTrue(m.find(), r.out());
    assertFalse(Files.exists(Path.of(m.group(1))), "the synthetic checkpoint is deleted: " + m.group(1));
  }

  @Test
  void syntheticCheckpointHasTheOfficialKeys(@TempDir Path tmp) {
    Path file = tmp.resolve("lite.pth");
    BenchIoCommand.Synthetic s = BenchIoCommand.synthesize(Variants.get("rest_lite"), file, 1);
    Map<String, HostTensor> sd = TorchCheckpoint.read(file, false, null).stateDict();
    assertEquals(s.tensors(), sd.size());
    List<String> keys = List.copyOf(sd.keySet());
    long batchNorms = keys.stream().filter(k -> k.endsWith(".running_var")).count();
    assertTrue(batchNorms > 0);
    for (int i = 0; i < keys.size(); i++) {
      if (keys.get(i).endsWith(".running_var")) { // BatchNorm buffers in the official order, with an int64 count
        String bn = keys.get(i).substring(0, keys.get(i).length() - ".running_var".length());
        HostTensor count = sd.get(keys.get(i + 1));
        assertEquals(bn + ".num_batches_tracked", keys.get(i + 1));
        assertEquals("I64", count.dtype());
        assertEquals(0, count.rank());
      }
    }
    assertEquals(s.tensors() - batchNorms, s.tensors() - keys.stream().filter(k -> k.endsWith("_tracked")).count());
    assertTrue(s.parameters() > 10_000_000 && s.parameters() < 11_000_000, "rest_lite has about 10.5 M parameters: "
        + s.parameters());
  }

  @Test
  void givenFileWithTheModelDetected(@TempDir Path tmp) throws IOException {
    Path config = tmp.resolve("tiny.json");
    Files.writeString(config, NARROW_TINY);
    Path file = tmp.resolve("tiny.pth");
    BenchIoCommand.synthesize(RestConfig.read(config), file, 0);
    CliRun r = CliRun.of("bench-io", "--file", file.toString(), "--repeats", "2").ok();
    assertTrue(FINAL.matcher(lastLine(r.out())).matches(), r.out());
    assertTrue(r.out().contains("detected restv2_tiny (widths / 8)"), r.out());
    assertTrue(r.out().contains("given file"), r.out());
    assertTrue(Files.exists(file), "a given file is left alone");

    CliRun c = CliRun.of("bench-io", "--file", file.toString(), "--config", config.toString(), "--repeats", "1").ok();
    assertTrue(c.out().contains("config " + config), c.out());
  }

  @Test
  void missingFileIsBadInput(@TempDir Path tmp) {
    Path missing = tmp.resolve("no-such.pth");
    String line = CliRun.of("bench-io", "--file", missing.toString()).badInput("no such file");
    assertTrue(line.contains(missing.toString()), line);
  }

  @Test
  void fileThatIsNoCheckpointIsBadInput(@TempDir Path tmp) throws IOException {
    Path junk = tmp.resolve("junk.pth");
    Files.writeString(junk, "not a checkpoint");
    CliRun.of("bench-io", "--file", junk.toString(), "--variant", "rest_lite").badInput(junk.toString());
  }

  @Test
  void badRepeatsIsBadInput() {
    CliRun.of("bench-io", "--repeats", "0").badInput("--repeats");
  }
}
