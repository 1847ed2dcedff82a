package io.resttf.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Where the shared reference fixtures are (../shared/fixtures from the repository root). */
public final class Fixtures {
  private Fixtures() {}

  public static final List<String> VARIANTS = List.of(
      "rest_lite", "rest_small", "rest_base", "rest_large",
      "restv2_tiny", "restv2_small", "restv2_base", "restv2_large");

  public static Path root() {
    String p = System.getProperty("fixtures.dir");
    Path dir = p != null ? Path.of(p) : Path.of("../../shared/fixtures");
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("reference fixtures not found at " + dir.toAbsolutePath()
          + " (set -Dfixtures.dir or put ../shared beside the repository)");
    }
    return dir.normalize();
  }

  public static Path manifest(String variant) {
    return root().resolve("manifests").resolve(variant + ".json");
  }

  public static Path parity(String caseName) {
    return root().resolve("parity").resolve(caseName);
  }

  /** Names of all parity cases (folders under parity/), sorted. */
  public static List<String> parityCases() {
    try (Stream<Path> s = Files.list(root().resolve("parity"))) {
      return s.filter(Files::isDirectory).map(x -> x.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static JsonNode json(Path file) {
    try {
      return new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
