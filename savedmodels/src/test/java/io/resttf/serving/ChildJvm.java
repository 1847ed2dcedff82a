package io.resttf.serving;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a main class of the test classpath in a fresh JVM. */
final class ChildJvm {
  private ChildJvm() {}

  static ProcessBuilder builder(Class<?> main, String... args) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx2g", "-cp", System.getProperty("java.class.path")));
    String fixtures = System.getProperty("fixtures.dir");
    if (fixtures != null) cmd.add("-Dfixtures.dir=" + fixtures);
    cmd.add(main.getName());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    return pb;
  }

  /** Runs to completion; returns its output, failing on a non-zero exit. */
  static String run(Class<?> main, String... args) throws IOException, InterruptedException {
    Process p = builder(main, args).start();
    String output = new String(p.getInputStream().readAllBytes());
    int rc = p.waitFor();
    if (rc != 0) throw new AssertionError(main.getSimpleName() + " exited " + rc + ":\n" + output);
    return output;
  }
}
