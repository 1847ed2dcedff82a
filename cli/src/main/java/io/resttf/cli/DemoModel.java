package io.resttf.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resttf.model.Preprocessing;
import io.resttf.model.RestConfig;
import io.resttf.training.ModelSource;
import io.resttf.util.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The model embedded in the cli jar: the official Fashion-MNIST ResTv2 checkpoint (weights.pth), its
 * config.json (with labels and the official accuracy), 40 shipped test images and the official predictions.
 * Used by {@code demo} and by {@code train --init demo}.
 */
final class DemoModel {
  private DemoModel() {}

  static final String RESOURCES = "/io/resttf/cli/demo/";
  /** What {@code train --init} takes for this model, and records as its source. */
  static final String INIT_NAME = "demo";
  /** The official Fashion-MNIST preprocessing: 28×28 → /255 → pad 2 (raw 0) → 32 → nearest ×2 → 64, mean/std. */
  static final Preprocessing FASHION = Preprocessing.of(28, 1.0, List.of(0.2860), List.of(0.3530)).withPadAndUpsample(2, 2);

  /** The bytes of embedded resource {@code name} (relative to the demo folder). */
  static byte[] bytes(String name) throws IOException {
    try (InputStream in = open(name)) {
      return in.readAllBytes();
    }
  }

  /** Copies embedded resource {@code name} into {@code dir}; returns the copy. */
  static Path copy(String name, Path dir) throws IOException {
    Path p = dir.resolve(name);
    try (InputStream in = open(name)) {
      Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
    }
    return p;
  }

  /** The embedded config.json: the model config plus labels and official_test_accuracy. */
  static JsonNode configJson() {
    try {
      return new ObjectMapper().readTree(bytes("config.json"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static RestConfig config() throws IOException {
    return RestConfig.fromJson(new String(bytes("config.json"), StandardCharsets.UTF_8), "demo config.json");
  }

  static List<String> labels(JsonNode configJson) {
    List<String> labels = new ArrayList<>();
    configJson.path("labels").forEach(l -> labels.add(l.asText()));
    return labels;
  }

  /** The embedded model as the start of a fine-tuning run: weights, config, labels, preprocessing. */
  static ModelSource modelSource() throws IOException {
    RestConfig cfg = config();
    Path tmp = Files.createTempDirectory("rest-tf-demo");
    try {
      ModelSource m = ModelSource.read(copy("weights.pth", tmp), cfg, null);
      return new ModelSource(m.stateDict(), cfg, labels(configJson()), FASHION, INIT_NAME);
    } finally {
      AtomicFiles.deleteQuietly(tmp);
    }
  }

  private static InputStream open(String name) {
    InputStream in = DemoModel.class.getResourceAsStream(RESOURCES + name);
    if (in == null) throw new IllegalStateException("missing embedded resource " + name + " (rebuild: ci/build)");
    return in;
  }
}
