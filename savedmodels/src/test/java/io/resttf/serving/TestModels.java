package io.resttf.serving;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.RestConfig;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Fixture models and exports shared by the tests of this module (each case exported once per JVM). */
final class TestModels {
  static final String V2 = "restv2_tiny-narrow";
  static final String V1 = "rest_lite-narrow";

  private static Path sharedBase;
  private static final Map<String, SavedModelExporter.Result> EXPORTS = new HashMap<>();

  private TestModels() {}

  static Path fixture(String caseName) {
    return Fixtures.parity(caseName);
  }

  static RestConfig config(String caseName) {
    return RestConfig.read(fixture(caseName).resolve("config.json"));
  }

  static Map<String, HostTensor> weights(String caseName) {
    return Safetensors.read(fixture(caseName).resolve("weights.safetensors"));
  }

  static HostTensor npy(String caseName, String file) {
    return Npy.read(fixture(caseName).resolve(file));
  }

  static ExportMetadata metadata(String caseName) {
    Path ckpt = fixture(caseName).resolve("weights.safetensors");
    return ExportMetadata.forCheckpoint(ckpt).withVariant(Fixtures.json(fixture(caseName).resolve("config.json")).path("variant").asText());
  }

  /** A temporary BASE directory for this JVM, removed at exit. */
  static synchronized Path sharedBase() {
    if (sharedBase == null) {
      try {
        sharedBase = Files.createTempDirectory("rest-tf-serving-test");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Path b = sharedBase;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> io.resttf.util.AtomicFiles.deleteQuietly(b)));
    }
    return sharedBase;
  }

  /** The fixture case exported (once) under {@link #sharedBase()} with default metadata. */
  static synchronized SavedModelExporter.Result exported(String caseName) {
    return EXPORTS.computeIfAbsent(caseName, c -> new SavedModelExporter(sharedBase())
        .export(c, config(c), weights(c), metadata(c)));
  }

  static byte[] resource(String name) {
    try (InputStream in = TestModels.class.getResourceAsStream(name)) {
      if (in == null) throw new IllegalStateException("missing test resource " + name);
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static double maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
    return m;
  }

  static double maxAbs(float[] a) {
    double m = 0;
    for (float x : a) m = Math.max(m, Math.abs(x));
    return m;
  }
}
