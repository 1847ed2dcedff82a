package io.resttf.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.torch.TorchCheckpoint;
import io.resttf.convert.torch.TorchCheckpointParityTest;
import io.resttf.convert.torch.TorchTestFiles;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Format recognition by content, and the same weights whichever file they come from. */
class CheckpointFilesTest {
  @TempDir
  Path tmp;

  @Test
  void recognisesFormatsByContentNotName() throws Exception {
    Path dir = Fixtures.parity("rest_base-narrow");
    assertEquals(CheckpointFiles.Kind.TORCH_ZIP, CheckpointFiles.detect(dir.resolve("weights.pth")));
    assertEquals(CheckpointFiles.Kind.SAFETENSORS, CheckpointFiles.detect(dir.resolve("weights.safetensors")));
    assertEquals(CheckpointFiles.Kind.TORCH_LEGACY,
        CheckpointFiles.detect(Fixtures.parity("rest_large-narrow").resolve("weights.pth")));
    // a .pth that is really safetensors still reads
    Path renamed = Files.copy(dir.resolve("weights.safetensors"), tmp.resolve("renamed.pth"));
    assertEquals(CheckpointFiles.Kind.SAFETENSORS, CheckpointFiles.detect(renamed));
  }

  @Test
  void torchAndSafetensorsGiveTheSameWeights() {
    Path dir = Fixtures.parity("rest_base-narrow");
    List<long[]> progress = new ArrayList<>();
    CheckpointFiles.LoadedWeights pth = CheckpointFiles.read(dir.resolve("weights.pth"), false,
        (d, t) -> progress.add(new long[] {d, t}));
    CheckpointFiles.LoadedWeights st = CheckpointFiles.read(dir.resolve("weights.safetensors"), false, null);
    assertEquals("torch zip (torch >= 1.6)", pth.format());
    assertEquals("['state_dict'], 'module.' prefixes stripped", pth.wrapper());
    assertEquals("safetensors", st.format());
    assertEquals(st.stateDict().size(), pth.stateDict().size());
    LinkedHashMap<String, HostTensor> ref = st.stateDict();
    pth.stateDict().forEach((k, t) -> TorchCheckpointParityTest.assertSameTensor(ref.get(k), t, k));
    assertTrue(!progress.isEmpty() && progress.get(progress.size() - 1)[0] == progress.get(progress.size() - 1)[1]);
  }

  @Test
  void unknownFilesGetAClearMessage() throws Exception {
    Path bin = Files.write(tmp.resolve("x.bin"), "hello, this is not a checkpoint".getBytes());
    BadInputException e = assertThrows(BadInputException.class, () -> CheckpointFiles.read(bin, false, null));
    assertEquals(bin + ": not a .pth (zip or legacy torch), .pkl (pickle of numpy arrays) or .safetensors file", e.getMessage());
    BadInputException t = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(bin, false, null));
    assertEquals(bin + ": not a torch.save file (neither a zip archive nor a legacy torch pickle)", t.getMessage());

    Path empty = Files.write(tmp.resolve("empty.pth"), new byte[0]);
    assertThrows(BadInputException.class, () -> CheckpointFiles.read(empty, false, null));

    Path missing = tmp.resolve("missing.pth");
    BadInputException m = assertThrows(BadInputException.class, () -> CheckpointFiles.read(missing, false, null));
    assertEquals(missing + ": no such file", m.getMessage());
    BadInputException m2 = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(missing, false, null));
    assertEquals(missing + ": no such file", m2.getMessage());

    BadInputException d = assertThrows(BadInputException.class, () -> CheckpointFiles.read(tmp, false, null));
    assertTrue(d.getMessage().contains("is a directory"), d.getMessage());

    // a zip that is not a torch file (e.g. an .npz)
    Path npz = TorchTestFiles.writeZip(tmp.resolve("arrays.npz"), "x", new byte[] {'.'}, java.util.Map.of());
    Files.write(npz, rezipWithout(npz));
    BadInputException z = assertThrows(BadInputException.class, () -> CheckpointFiles.read(npz, false, null));
    assertTrue(z.getMessage().contains("not a torch.save file"), z.getMessage());
  }

  @Test
  void emaIsRefusedForSafetensors() {
    Path st = Fixtures.parity("rest_base-narrow").resolve("weights.safetensors");
    BadInputException e = assertThrows(BadInputException.class, () -> CheckpointFiles.read(st, true, null));
    TorchTestFiles.assertOneLine(e, st);
  }

  /** A zip with one unrelated entry. */
  private static byte[] rezipWithout(Path ignored) throws Exception {
    java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
    try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(bos)) {
      TorchTestFiles.stored(z, "a.npy", new byte[] {1, 2, 3});
    }
    return bos.toByteArray();
  }
}
