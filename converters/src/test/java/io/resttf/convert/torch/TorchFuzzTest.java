package io.resttf.convert.torch;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.resttf.tensor.BadInputException;
import io.resttf.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deterministic fuzzing (fixed seed) of zip and legacy torch files: random byte changes, truncations,
 * insertions, deletions, forged length and size fields, and mutations inside data.pkl (re-zipped so the zip
 * itself stays valid). Every mutant must either load or fail with a one-line BadInputException naming the
 * file: never another exception, never an Error, never a hang, never a large allocation.
 */
class TorchFuzzTest {
  private static final long SEED = 20240601L;
  private static final byte[][] INTERESTING = {
      {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f},
      {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f}, {0, 0, 0, (byte) 0x80}, {0, 0, 0, 0, 0, 1, 0, 0},
      {(byte) 0xff, (byte) 0xff}, {0}, {(byte) 0x80}, {'(', '(', '('}, {'.'}, {'R'}, {'b'}, {0x4a, 0, 0, 0, 0x40}};

  @TempDir
  Path tmp;
  private int counter;
  private int loaded;
  private int refused;

  @Test
  void mutantsLoadOrFailCleanly() throws Exception {
    Random rnd = new Random(SEED);
    List<String> small = List.of("training_p2.pth", "training_p4.pth", "training_p0.pth", "bigendian.pth",
        "legacy_views.pth", "legacy_training.pth");
    for (String name : small) {
      byte[] base = Files.readAllBytes(TorchTestFiles.resource(name));
      batch(name + " bytes", 500, rnd, r -> mutateBytes(base, r));
      if (!name.startsWith("legacy")) {
        Map<String, byte[]> entries = unzip(base);
        batch(name + " data.pkl", 300, rnd, r -> rezipWithMutatedPickle(entries, r));
      }
    }
    byte[] lite = Files.readAllBytes(Fixtures.parity("rest_lite-narrow").resolve("weights.pth"));
    batch("rest_lite-narrow bytes", 120, rnd, r -> mutateBytes(lite, r));
    Map<String, byte[]> liteEntries = unzip(lite);
    batch("rest_lite-narrow data.pkl", 120, rnd, r -> rezipWithMutatedPickle(liteEntries, r));
    byte[] large = Files.readAllBytes(Fixtures.parity("rest_large-narrow").resolve("weights.pth"));
    batch("rest_large-narrow (legacy) bytes", 40, rnd, r -> mutateBytes(large, r));
    assertTrue(loaded > 100 && refused > 1000, "loaded " + loaded + ", refused " + refused);
  }

  /** Runs {@code n} mutants under one preemptive timeout; each may allocate at most ~40x its size + 64 MB. */
  private void batch(String what, int n, Random rnd, java.util.function.Function<Random, byte[]> mutate) {
    List<byte[]> mutants = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      mutants.add(mutate.apply(rnd));
    }
    assertTimeoutPreemptively(Duration.ofSeconds(40), () -> {
      for (int i = 0; i < mutants.size(); i++) {
        byte[] m = mutants.get(i);
        Path file = Files.write(tmp.resolve("mutant-" + (counter++) + ".pth"), m);
        long before = TorchSecurityTest.allocatedBytes();
        try {
          TorchCheckpoint c = TorchCheckpoint.read(file, (i & 1) == 1, null);
          assertTrue(c.stateDict() != null);
          loaded++;
        } catch (BadInputException e) {
          TorchTestFiles.assertOneLine(e, file);
          refused++;
        } catch (Throwable t) {
          Path keep = Files.write(tmp.resolve("failing.pth"), m);
          fail(what + " mutant " + i + " (" + m.length + " bytes, kept at " + keep + ") threw " + t, t);
        }
        long allocated = TorchSecurityTest.allocatedBytes() - before;
        assertTrue(allocated < 40L * m.length + (64L << 20),
            what + " mutant " + i + " allocated " + allocated + " bytes for a " + m.length + "-byte file");
        Files.delete(file);
      }
    }, what);
  }

  static byte[] mutateBytes(byte[] base, Random r) {
    byte[] b = base;
    int ops = 1 + r.nextInt(3);
    for (int k = 0; k < ops && b.length > 0; k++) {
      int pos = r.nextInt(b.length);
      switch (r.nextInt(6)) {
        case 0 -> { // random bytes
          b = b.clone();
          for (int j = 0, n = 1 + r.nextInt(8); j < n; j++) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
        }
        case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length)); // truncate
        case 2 -> { // insert
          byte[] ins = new byte[1 + r.nextInt(16)];
          r.nextBytes(ins);
          b = splice(b, pos, 0, ins);
        }
        case 3 -> b = splice(b, pos, Math.min(b.length - pos, 1 + r.nextInt(64)), new byte[0]); // delete
        case 4 -> { // forge a length / size field
          byte[] v = INTERESTING[r.nextInt(INTERESTING.length)];
          b = b.clone();
          System.arraycopy(v, 0, b, pos, Math.min(v.length, b.length - pos));
        }
        default -> { // single bit
          b = b.clone();
          b[pos] ^= (byte) (1 << r.nextInt(8));
        }
      }
    }
    return b;
  }

  /** Mutates data.pkl only (bytes, and small integers turned into huge ones), then writes a valid zip. */
  static byte[] rezipWithMutatedPickle(Map<String, byte[]> entries, Random r) {
    Map<String, byte[]> copy = new LinkedHashMap<>(entries);
    String pklName = copy.keySet().stream().filter(n -> n.endsWith("/data.pkl")).findFirst().orElseThrow();
    byte[] pkl = copy.get(pklName);
    if (r.nextBoolean()) {
      pkl = mutateBytes(pkl, r);
    } else { // BININT1 operands (sizes, strides, offsets, numel) → huge BININT / LONG1
      for (int j = 0, n = 1 + r.nextInt(3); j < n; j++) {
        int at = indexOf(pkl, (byte) 'K', r.nextInt(pkl.length));
        if (at < 0 || at + 1 >= pkl.length) {
          break;
        }
        byte[] big = r.nextBoolean()
            ? new byte[] {'J', (byte) r.nextInt(256), (byte) r.nextInt(256), (byte) r.nextInt(256), (byte) r.nextInt(256)}
            : new byte[] {(byte) 0x8a, 8, 0, 0, 0, 0, 0, (byte) r.nextInt(256), (byte) r.nextInt(256), 0x40};
        pkl = splice(pkl, at, 2, big);
      }
    }
    copy.put(pklName, pkl);
    if (r.nextInt(4) == 0) { // also shorten or drop a storage
      List<String> storages = copy.keySet().stream().filter(n -> n.contains("/data/")).toList();
      String victim = storages.get(r.nextInt(storages.size()));
      byte[] s = copy.get(victim);
      if (r.nextBoolean() || s.length == 0) {
        copy.remove(victim);
      } else {
        copy.put(victim, java.util.Arrays.copyOf(s, r.nextInt(s.length)));
      }
    }
    try {
      java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
      try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(bos)) {
        for (Map.Entry<String, byte[]> e : copy.entrySet()) TorchTestFiles.stored(z, e.getKey(), e.getValue());
      }
      return bos.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, byte[]> unzip(byte[] zip) throws IOException {
    // the fixtures use data descriptors: read entries through a temporary file with ZipFile
    Path f = Files.createTempFile("fuzz-base", ".zip");
    try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(Files.write(f, zip).toFile())) {
      Map<String, byte[]> out = new LinkedHashMap<>();
      for (ZipEntry e : java.util.Collections.list(z.entries())) {
        out.put(e.getName(), z.getInputStream(e).readAllBytes());
      }
      return out;
    } finally {
      Files.delete(f);
    }
  }

  private static byte[] splice(byte[] b, int pos, int remove, byte[] insert) {
    byte[] out = new byte[b.length - remove + insert.length];
    System.arraycopy(b, 0, out, 0, pos);
    System.arraycopy(insert, 0, out, pos, insert.length);
    System.arraycopy(b, pos + remove, out, pos + insert.length, b.length - pos - remove);
    return out;
  }

  private static int indexOf(byte[] b, byte v, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] == v) {
        return i;
      }
    }
    return -1;
  }

}
