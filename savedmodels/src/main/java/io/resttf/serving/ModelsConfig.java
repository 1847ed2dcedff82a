package io.resttf.serving;

import io.resttf.model.ModelLocation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.tensor.BadInputException;
import java.util.stream.Stream;

/**
 * {@code BASE/models.config}: a TF Serving ModelServerConfig (protobuf text format) listing every model
 * under BASE, so {@code tensorflow_model_server --model_config_file=BASE/models.config} serves them all.
 */
public final class ModelsConfig {
  /** File name of the config inside BASE. */
  public static final String FILE_NAME = "models.config";

  /** One served model: its name, absolute base path (the directory holding the numeric versions) and serving policy. */
  public record Entry(String name, Path basePath, Serving serving) {
    public Entry(String name, Path basePath) {
      this(name, basePath, Serving.DEFAULT);
    }
  }

  /**
   * Which versions of a model TF Serving loads ({@code model_version_policy}) and its version labels
   * ({@code version_labels}, e.g. stable → 3, as {@code :predict} requests name them with
   * {@code /labels/stable}). Kept per model in {@code BASE/NAME/serving.json}; absent = TF Serving's default
   * (the latest version only, no labels).
   *
   * @param policy "latest", "latest:N", "all" or "specific:V1,V2,..."
   */
  public record Serving(String policy, Map<String, Long> labels) {
    /** The file beside a model's versions that holds its serving policy. */
    public static final String FILE_NAME = "serving.json";
    private static final Pattern POLICY = Pattern.compile("latest(:[1-9][0-9]{0,5})?|all|specific:[1-9][0-9]{0,17}(,[1-9][0-9]{0,17})*");
    private static final Pattern LABEL = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}");
    private static final Set<String> KEYS = Set.of("version_policy", "version_labels");
    /** TF Serving's default: the latest version, no labels (declared after the patterns it is checked with). */
    public static final Serving DEFAULT = new Serving("latest", Map.of());

    public Serving {
      if (policy == null || !POLICY.matcher(policy).matches()) {
        throw new BadInputException("version policy \"" + policy + "\" must be latest, latest:N, all or specific:V1,V2,...");
      }
      labels = Collections.unmodifiableMap(new TreeMap<>(labels));
      for (Map.Entry<String, Long> l : labels.entrySet()) {
        if (!LABEL.matcher(l.getKey()).matches()) {
          throw new BadInputException("version label \"" + l.getKey() + "\" must match " + LABEL.pattern());
        }
        if (l.getValue() == null || l.getValue() < 1) throw new BadInputException("version label " + l.getKey() + " must name a version >= 1");
      }
    }

    private static final String SPECIFIC = "specific:", LATEST = "latest";

    /** The versions a specific policy names (ascending); null for latest and all. */
    private List<Long> specificVersions() {
      return policy.startsWith(SPECIFIC)
          ? Arrays.stream(policy.substring(SPECIFIC.length()).split(",")).map(Long::parseLong).sorted().distinct().toList()
          : null;
    }

    /** How many latest versions a latest policy loads; 0 for all and specific. */
    private int latestCount() {
      if (!policy.startsWith(LATEST)) return 0;
      return policy.equals(LATEST) ? 1 : Integer.parseInt(policy.substring(LATEST.length() + 1));
    }

    /** The versions TF Serving loads under this policy, of those {@code present} (ascending). */
    public List<Long> served(List<Long> present) {
      List<Long> specific = specificVersions();
      if (specific != null) return specific;
      int n = latestCount();
      return n == 0 ? present : present.subList(Math.max(0, present.size() - n), present.size());
    }

    /**
     * Refuses what TF Serving would refuse for {@code model}: a specific version that does not exist, a label on
     * a version that is not served (TF Serving only labels loaded versions).
     */
    public void check(String model, List<Long> present) {
      List<Long> served = served(present);
      if (specificVersions() != null) {
        for (long v : served) {
          if (!present.contains(v)) throw new BadInputException("model " + model + " has no version " + v + " (versions: " + present + ")");
        }
      }
      for (Map.Entry<String, Long> l : labels.entrySet()) {
        if (!served.contains(l.getValue())) {
          throw new BadInputException("version label " + l.getKey() + " of model " + model + " names version " + l.getValue()
              + ", which is not served (policy " + policy + " serves " + served + ")");
        }
      }
    }

    /** {@link #check} as it will be once {@code version} is written beside {@code present}. */
    public void checkWithNewVersion(String model, List<Long> present, long version) {
      List<Long> after = new ArrayList<>(present);
      if (!after.contains(version)) after.add(version);
      after.sort(null);
      check(model, after);
    }

    /** Reads {@code modelDir/serving.json}; {@link #DEFAULT} when there is none. */
    public static Serving read(Path modelDir) {
      Path f = modelDir.resolve(FILE_NAME);
      if (!Files.isRegularFile(f)) return DEFAULT;
      try {
        JsonNode n = JSON.readTree(f.toFile());
        if (n == null || !n.isObject()) throw new BadInputException(f + ": not a JSON object");
        for (var it = n.fieldNames(); it.hasNext(); ) {
          String k = it.next();
          if (!KEYS.contains(k)) throw new BadInputException(f + ": unknown key \"" + k + "\" (known: " + String.join(", ", new TreeSet<>(KEYS)) + ")");
        }
        String policy = n.has("version_policy") ? n.get("version_policy").asText() : DEFAULT.policy();
        Map<String, Long> labels = new TreeMap<>();
        JsonNode ls = n.path("version_labels");
        if (!ls.isMissingNode() && !ls.isObject()) throw new BadInputException(f + ": version_labels must be an object of label: version");
        for (var it = ls.fields(); it.hasNext(); ) {
          var e = it.next();
          if (!e.getValue().canConvertToExactIntegral()) throw new BadInputException(f + ": version label " + e.getKey() + " must be a version number");
          labels.put(e.getKey(), e.getValue().asLong());
        }
        return new Serving(policy, labels);
      } catch (IOException e) {
        throw new BadInputException(f + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")");
      }
    }

    /** Writes {@code modelDir/serving.json} atomically (removes it for the default). */
    public void write(Path modelDir) throws IOException {
      Path f = modelDir.resolve(FILE_NAME);
      if (equals(DEFAULT)) {
        Files.deleteIfExists(f);
        return;
      }
      var o = JSON.createObjectNode();
      o.put("version_policy", policy);
      var l = o.putObject("version_labels");
      labels.forEach(l::put);
      io.resttf.util.AtomicFiles.writeString(f, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
    }

    void render(StringBuilder sb) {
      if (!equals(DEFAULT)) {
        sb.append("    model_version_policy {\n");
        List<Long> specific = specificVersions();
        if (specific != null) {
          sb.append("      specific {\n");
          for (long v : specific) sb.append("        versions: ").append(v).append("\n");
          sb.append("      }\n");
        } else if (latestCount() > 0) {
          sb.append("      latest {\n        num_versions: ").append(latestCount()).append("\n      }\n");
        } else {
          sb.append("      all {\n      }\n");
        }
        sb.append("    }\n");
      }
      for (Map.Entry<String, Long> l : labels.entrySet()) {
        sb.append("    version_labels {\n      key: \"").append(l.getKey()).append("\"\n      value: ").append(l.getValue())
            .append("\n    }\n");
      }
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  private ModelsConfig() {}

  /**
   * Models under {@code base}: directories with a valid model name holding at least one numeric version
   * directory with a {@code saved_model.pb}; sorted by name, each with its serving policy.
   */
  public static List<Entry> scan(Path base) {
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(base)) return out;
    try (Stream<Path> dirs = Files.list(base)) {
      for (Path d : dirs.sorted().toList()) {
        String name = d.getFileName().toString();
        if (!Files.isDirectory(d) || !SavedModelExporter.isValidModelName(name)) continue;
        List<Long> versions = ModelLocation.versions(d);
        if (versions.isEmpty()) continue;
        Serving serving = Serving.read(d);
        serving.check(name, versions); // a config TF Serving would refuse is never written
        out.add(new Entry(name, d.toAbsolutePath().normalize(), serving));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** The protobuf text of a ModelServerConfig serving {@code entries}. */
  public static String render(List<Entry> entries) {
    StringBuilder sb = new StringBuilder();
    sb.append("# TF Serving model config written by rest-tf; regenerated on every export.\n");
    sb.append("# tensorflow_model_server --model_config_file=").append(FILE_NAME).append(" (absolute path)\n");
    sb.append("model_config_list {\n");
    for (Entry e : entries) {
      sb.append("  config {\n");
      sb.append("    name: \"").append(escape(e.name())).append("\"\n");
      sb.append("    base_path: \"").append(escape(e.basePath().toString())).append("\"\n");
      sb.append("    model_platform: \"tensorflow\"\n");
      e.serving().render(sb);
      sb.append("  }\n");
    }
    sb.append("}\n");
    return sb.toString();
  }

  /** Rescans {@code base} and rewrites {@code base/models.config} atomically; returns its path. */
  public static Path regenerate(Path base) throws IOException {
    Path file = base.resolve(FILE_NAME);
    io.resttf.util.AtomicFiles.writeString(file, render(scan(base)));
    return file;
  }

  private static String escape(String s) {
    StringBuilder sb = new StringBuilder();
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        default -> sb.append(ch);
      }
    }
    return sb.toString();
  }
}
