package io.resttf.cli.fuzz;

import io.resttf.convert.tensorfile.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * "Nothing half-written": after a case, each output location it targeted holds a complete artifact or
 * nothing, and no temporary file or directory (a hidden {@code .tmp-…} build directory, a lock file,
 * TensorFlow's {@code _temp} save directory) is left anywhere in the case directory.
 */
final class ArtifactCheck {
  private ArtifactCheck() {}

  static final String[] FORWARD_OUTPUTS = {"logits.npy", "stage1.npy", "stage2.npy", "stage3.npy", "stage4.npy"};

  static boolean isTemporary(String name) {
    String n = name.toLowerCase(java.util.Locale.ROOT);
    return n.startsWith(".tmp") || n.endsWith(".tmp") || n.endsWith(".lock") || n.contains("_temp") || n.contains("tempstate")
        || n.endsWith(".partial") || n.startsWith(".export");
  }

  /** Problems found, empty when every target is complete or absent and nothing temporary is left. */
  static List<String> check(FuzzCase c, int exitCode, Path caseDir) {
    List<String> problems = new ArrayList<>();
    // --help / --version answer without running: a complete artifact is not expected
    if (exitCode == 0 && asksForHelpOrVersion(c.args())) exitCode = -1;
    if (Files.isDirectory(caseDir)) {
      for (Path p : walk(caseDir)) {
        if (isTemporary(p.getFileName().toString())) problems.add("temporary file left: " + caseDir.relativize(p));
      }
    }
    for (String t : c.targets()) {
      int colon = t.indexOf(':');
      String type = t.substring(0, colon);
      Path p = Path.of(t.substring(colon + 1));
      // a flag mutation can move the path away from its option ("--out - PATH"): then the command wrote
      // elsewhere, and only "absent or complete" applies here
      int code = exitCode == 0 && !aimedAt(c.args(), p.toString()) ? -1 : exitCode;
      try {
        checkTarget(type, p, code, problems);
      } catch (IOException | RuntimeException e) {
        problems.add(type + " " + p + ": cannot check (" + e + ")");
      }
    }
    return problems;
  }

  /** Whether {@code path} is the value of an output option ({@code --out}, {@code --base}, {@code --resume}) in {@code args}. */
  static boolean aimedAt(List<String> args, String path) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      for (String opt : List.of("--out", "--base", "--resume")) {
        if (a.equals(opt + "=" + path) || a.equals(opt) && i + 1 < args.size() && args.get(i + 1).equals(path)) return true;
      }
    }
    return false;
  }

  static boolean asksForHelpOrVersion(List<String> args) {
    for (String a : args) {
      if (a.equals("--")) return false;
      if (List.of("-h", "--help", "-V", "--version", "-hV", "-Vh").contains(a)) return true;
    }
    return !args.isEmpty() && args.get(0).equals("help");
  }

  private static void checkTarget(String type, Path p, int code, List<String> problems) throws IOException {
    if (type.startsWith("pre-")) {
      // an existing location the case pointed an output at: whatever was there is still there
      if (Files.isRegularFile(p) && p.getFileName().toString().endsWith(".out")) return;
      if (Files.isDirectory(p) && Files.exists(p.resolve("keep.txt"))) {
        if (!"user data".equals(Files.readString(p.resolve("keep.txt")))) problems.add(p + ": keep.txt changed");
      }
      if (Files.isDirectory(p) && code == 0) checkTarget(type.substring(4), p, code, problems);
      return;
    }
    switch (type) {
      case "forward", "run" -> {
        if (!Files.exists(p)) {
          if (code == 0) problems.add(type + " exited 0 but wrote no " + p);
          return;
        }
        if (!Files.isDirectory(p)) {
          problems.add(p + " is not a directory");
          return;
        }
        List<Path> npys = list(p).stream().filter(x -> x.toString().endsWith(".npy")).toList();
        for (Path x : npys) {
          try {
            Npy.read(x);
          } catch (RuntimeException e) {
            problems.add("unreadable output " + x.getFileName() + ": " + e.getMessage());
          }
        }
        if (code == 0 && type.equals("forward")) {
          for (String f : FORWARD_OUTPUTS) if (!Files.isRegularFile(p.resolve(f))) problems.add("forward exited 0 without " + f);
        }
        if (code == 0 && type.equals("run") && npys.isEmpty()) problems.add("run exited 0 without any .npy output");
        if (code > 0 && !npys.isEmpty()) problems.add(type + " failed (exit " + code + ") but left " + npys.size() + " .npy outputs");
      }
      case "convert" -> {
        if (!Files.exists(p)) {
          if (code == 0) problems.add("convert exited 0 but wrote no " + p);
          return;
        }
        for (String f : new String[] {"config.json", "conversion.json", "checkpoint/model.ckpt.index", "saved_model/1/saved_model.pb"}) {
          if (!Files.isRegularFile(p.resolve(f)) || Files.size(p.resolve(f)) == 0) {
            problems.add("convert output " + p.getFileName() + " is incomplete: no " + f + " (exit " + code + ")");
          }
        }
        if (Files.isDirectory(p.resolve("saved_model/1"))) version(p.resolve("saved_model/1"), problems);
      }
      case "export" -> {
        int versions = 0;
        if (Files.isDirectory(p)) {
          for (Path model : list(p)) {
            if (!Files.isDirectory(model)) continue;
            for (Path v : list(model)) {
              if (Files.isDirectory(v) && v.getFileName().toString().matches("\\d+")) {
                versions++;
                version(v, problems);
              }
            }
          }
        }
        if (code == 0 && versions == 0) problems.add("export exited 0 but no version exists under " + p);
      }
      case "train" -> {
        // a run directory: only the temporary-file scan applies (a failed run may keep its checkpoints)
      }
      case "analyze-fourier", "analyze-cka" -> {
        // written atomically: absent, or whole
        String name = type.substring("analyze-".length());
        if (!Files.exists(p)) {
          if (code == 0) problems.add(type + " exited 0 but wrote no " + p);
          return;
        }
        for (String f : new String[] {name + ".json", name + ".csv", name + ".png"}) {
          if (!Files.isRegularFile(p.resolve(f)) || Files.size(p.resolve(f)) == 0) {
            problems.add(type + " output " + p.getFileName() + " is incomplete: no " + f + " (exit " + code + ")");
          }
        }
      }
      default -> problems.add("unknown target type " + type);
    }
  }

  /** A SavedModel version directory TF Serving would load: the graph, the variables index and its data. */
  private static void version(Path v, List<String> problems) throws IOException {
    Path pb = v.resolve("saved_model.pb"), index = v.resolve("variables/variables.index");
    if (!Files.isRegularFile(pb) || Files.size(pb) == 0) problems.add("version " + v + " has no saved_model.pb");
    if (!Files.isRegularFile(index)) problems.add("version " + v + " has no variables/variables.index");
    if (Files.isDirectory(v.resolve("variables"))
        && list(v.resolve("variables")).stream().noneMatch(x -> x.getFileName().toString().startsWith("variables.data-"))) {
      problems.add("version " + v + " has no variables data shard");
    }
  }

  private static List<Path> list(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.sorted().toList();
    }
  }

  static List<Path> walk(Path d) {
    List<Path> out = new ArrayList<>();
    try {
      Files.walkFileTree(d, new java.nio.file.SimpleFileVisitor<>() {
        @Override
        public java.nio.file.FileVisitResult preVisitDirectory(Path dir, java.nio.file.attribute.BasicFileAttributes a) {
          if (!dir.equals(d)) out.add(dir);
          return java.nio.file.FileVisitResult.CONTINUE;
        }

        @Override
        public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes a) {
          out.add(file);
          return java.nio.file.FileVisitResult.CONTINUE;
        }

        @Override
        public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) {
          out.add(file);
          return java.nio.file.FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      // what could be listed is returned
    }
    return out;
  }

  /** Makes everything under {@code d} deletable again (chmod 000 cases), then deletes it. */
  static void delete(Path d) {
    if (!Files.exists(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
    for (int pass = 0; pass < 3; pass++) {
      for (Path p : walk(d)) {
        try {
          if (!Files.isSymbolicLink(p)) p.toFile().setReadable(true, true);
          if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            p.toFile().setWritable(true, true);
            p.toFile().setExecutable(true, true);
          }
        } catch (RuntimeException e) {
          // keep going
        }
      }
    }
    try {
      io.resttf.util.AtomicFiles.deleteRecursively(d);
    } catch (IOException | RuntimeException e) {
      // a leftover case directory is reported by the next run's disk usage, not fatal here
    }
  }
}
