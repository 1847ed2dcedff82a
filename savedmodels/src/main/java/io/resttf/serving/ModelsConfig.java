package io.resttf.serving;

import io.resttf.model.ModelLocation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code BASE/models.config}: a TF Serving ModelServerConfig (protobuf text format) listing every model
 * under BASE, so {@code tensorflow_model_server --model_config_file=BASE/models.config} serves them all.
 */
public final class ModelsConfig {
  /** File name of the config inside BASE. */
  public static final String FILE_NAME = "models.config";

  /** One served model: its name and absolute base path (the directory holding the numeric versions). */
  public record Entry(String name, Path basePath) {}

  private ModelsConfig() {}

  /**
   * Models under {@code base}: directories with a valid model name holding at least one numeric version
   * directory with a {@code saved_model.pb}; sorted by name.
   */
  public static List<Entry> scan(Path base) {
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(base)) return out;
    try (Stream<Path> dirs = Files.list(base)) {
      for (Path d : dirs.sorted().toList()) {
        String name = d.getFileName().toString();
        if (!Files.isDirectory(d) || !SavedModelExporter.isValidModelName(name)) continue;
        if (!ModelLocation.versions(d).isEmpty()) out.add(new Entry(name, d.toAbsolutePath().normalize()));
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

  private static final Pattern CONFIG = Pattern.compile(
      "config\\s*\\{\\s*name:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*base_path:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*model_platform:\\s*\"tensorflow\"\\s*\\}");

  /** Reads back what {@link #render} writes (name, base_path pairs, in order). */
  public static List<Entry> parse(String text) {
    String body = text.replaceAll("(?m)#.*$", "").trim();
    if (!body.startsWith("model_config_list") || !body.endsWith("}")) {
      throw new IllegalArgumentException("not a model_config_list");
    }
    List<Entry> out = new ArrayList<>();
    Matcher m = CONFIG.matcher(body);
    while (m.find()) out.add(new Entry(unescape(m.group(1)), Path.of(unescape(m.group(2)))));
    return out;
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

  private static String unescape(String s) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '\\' && i + 1 < s.length()) {
        char nx = s.charAt(++i);
        sb.append(nx == 'n' ? '\n' : nx);
      } else {
        sb.append(ch);
      }
    }
    return sb.toString();
  }
}
