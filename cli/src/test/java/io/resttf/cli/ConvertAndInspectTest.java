package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.Conversion;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** inspect and convert on real fixture checkpoints, and their refusals. */
class ConvertAndInspectTest {
  @Test
  void inspectShowsWrapperTensorsAndDetectedModel() {
    Path pth = Fixtures.parity("restv2_small-narrow").resolve("weights.pth");
    String out = CliRun.of("inspect", pth.toString()).ok().out();
    assertTrue(out.contains("['model']"), out);
    assertTrue(out.contains("tensors:  406"), out);
    assertTrue(out.contains("stem.proj.0.weight"), out);
    assertTrue(out.contains("model:    restv2_small (widths / 8)"), out);
  }

  @Test
  void inspectOfALegacyFloat16OrBfloat16File() {
    assertTrue(CliRun.of("inspect", Fixtures.parity("rest_large-narrow").resolve("weights.pth").toString()).ok()
        .out().contains("legacy"));
    assertTrue(CliRun.of("inspect", Fixtures.parity("restv2_base-narrow").resolve("weights.pth").toString()).ok()
        .out().contains("BF16"));
  }

  @Test
  void convertWritesARestorableTfCheckpoint(@TempDir Path tmp) {
    Path dir = Fixtures.parity("rest_base-narrow");
    Path out = tmp.resolve("conv");
    String o = CliRun.of("convert", "--checkpoint", dir.resolve("weights.pth").toString(), "--out", out.toString()).ok().out();
    assertTrue(o.contains("rest_base (widths / 8)"), o);
    assertTrue(o.contains("'module.' prefixes stripped"), o);
    assertTrue(Files.exists(out.resolve("config.json")));
    assertTrue(Files.exists(out.resolve("conversion.json")));
    assertTrue(Files.exists(out.resolve("saved_model/1/saved_model.pb")), "convert writes a SavedModel too");
    try (RestModel m = Conversion.openTfCheckpoint(out)) {
      HostTensor x = Layouts.nchwToNhwc(Npy.read(dir.resolve("input_1.npy")));
      float[] got = m.forward(x).logits().toFloats();
      float[] ref = Npy.read(dir.resolve("logits_1.npy")).toFloats();
      for (int i = 0; i < ref.length; i++) assertEquals(ref[i], got[i], 5e-4);
    }
    // refuses to overwrite without --force, and leaves the first conversion intact
    CliRun.of("convert", "--checkpoint", dir.resolve("weights.pth").toString(), "--out", out.toString())
        .badInput("already exists", "--force");
    assertTrue(Files.exists(out.resolve("checkpoint/model.ckpt.index")));
    CliRun.of("convert", "--checkpoint", dir.resolve("weights.pth").toString(), "--out", out.toString(), "--force").ok();
  }

  @Test
  void dropKeepsAFreshHeadAndSaysSo(@TempDir Path tmp) throws Exception {
    Path dir = Fixtures.parity("restv2_tiny-narrow");
    Path cfg = tmp.resolve("cfg.json");
    Files.writeString(cfg, Files.readString(dir.resolve("config.json")).replace("\"num_classes\": 10", "\"num_classes\": 3"));
    Path out = tmp.resolve("conv");
    CliRun.of("convert", "--checkpoint", dir.resolve("weights.pth").toString(), "--config", cfg.toString(),
        "--out", out.toString()).badInput("head.weight", "wrong shape");
    assertFalse(Files.exists(out));
    String o = CliRun.of("convert", "--checkpoint", dir.resolve("weights.pth").toString(), "--config", cfg.toString(),
        "--drop", "head\\..*", "--out", out.toString()).ok().out();
    assertTrue(o.contains("fresh:    [head.weight, head.bias]"), o);
    assertTrue(Files.readString(out.resolve("conversion.json")).contains("head.weight"));
  }

  @Test
  void refusals(@TempDir Path tmp) throws Exception {
    Path junk = tmp.resolve("junk.pth");
    Files.write(junk, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    CliRun.of("inspect", junk.toString()).badInput("junk.pth");
    CliRun.of("convert", "--checkpoint", junk.toString(), "--out", tmp.resolve("o").toString()).badInput("junk.pth");
    CliRun.of("convert", "--checkpoint", tmp.resolve("missing.pth").toString(), "--out", tmp.resolve("o").toString())
        .badInput("no such file");
    CliRun.of("convert", "--checkpoint", junk.toString(), "--drop", "([", "--out", tmp.resolve("o").toString())
        .badInput("--drop");
    Path evil = Path.of("../converters/src/test/resources/pth/evil_os_system.pth");
    if (Files.exists(evil)) CliRun.of("inspect", evil.toString()).badInput("os", "system");
    try (Stream<Path> s = Files.list(tmp)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("o")), "nothing half-written");
    }
  }
}
