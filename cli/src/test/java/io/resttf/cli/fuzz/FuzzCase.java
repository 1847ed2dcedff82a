package io.resttf.cli.fuzz;

import java.util.List;

/**
 * One fuzz case: the command line and the output locations it targets, each as {@code TYPE:PATH}
 * ({@link ArtifactCheck} says what a complete artifact of each type is).
 */
record FuzzCase(int index, String kind, List<String> args, List<String> targets) {
  String verb() {
    return args.isEmpty() ? "" : args.get(0);
  }

  /** The command line as a shell would take it (single-quoted where needed). */
  String commandLine() {
    StringBuilder b = new StringBuilder("bin/rest-tf");
    for (String a : args) {
      b.append(' ');
      if (!a.isEmpty() && a.matches("[A-Za-z0-9_./=:@+,-]+")) b.append(a);
      else b.append('\'').append(a.replace("'", "'\\''")).append('\'');
    }
    return b.toString();
  }
}
