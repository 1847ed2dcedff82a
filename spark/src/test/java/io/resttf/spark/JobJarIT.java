package io.resttf.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job jar as a cluster runs it: a JVM whose class path is Spark's jars (Spark and its dependencies from this
 * build, as a Spark installation's jars/ folder holds them) plus the job jar alone, started with the job jar's main class.
 * It classifies a folder and reports a bad input; the jar carries no Spark and its Jackson is relocated.
 */
class JobJarIT {
  @Test
  void runsOnSparksJarsAlone(@TempDir Path tmp) throws Exception {
    Path jar = Path.of(System.getProperty("job.jar"));
    assertTrue(Files.isRegularFile(jar), jar + " not built");
    try (JarFile j = new JarFile(jar.toFile())) {
      assertEquals("io.resttf.spark.SparkJobMain", j.getManifest().getMainAttributes().getValue("Main-Class"));
      assertTrue(j.getEntry("org/apache/spark/SparkContext.class") == null, "the job jar carries Spark");
      assertTrue(j.getEntry("com/fasterxml/jackson/databind/ObjectMapper.class") == null, "Jackson is not relocated");
      assertTrue(j.getEntry("io/resttf/shaded/jackson/databind/ObjectMapper.class") != null);
      assertTrue(j.stream().anyMatch(e -> e.getName().endsWith("libtensorflow_cc.so.2")), "no TF natives in the job jar");
    }
    String sparkJars = Files.readString(Path.of(System.getProperty("spark.classpath.file"))).strip();
    assertTrue(!sparkJars.contains("tensorflow") && !sparkJars.contains("rest-tf") && sparkJars.contains("spark-core_2.13"), sparkJars);
    Path out = tmp.resolve("out");
    Run ok = java(jar, sparkJars, "spark-classify", "--model", SparkTestData.classifier().toString(), "--input",
        SparkTestData.images().toString(), "--output", out.toString(), "--master", "local[2]");
    assertEquals(0, ok.code, ok.text);
    assertTrue(ok.text.contains("spark-classify: classified 41 images (1 with an error)"), ok.text);
    assertTrue(Files.isRegularFile(out.resolve("_SUCCESS")));
    Run bad = java(jar, sparkJars, "spark-classify", "--model", tmp.resolve("missing").toString(), "--input",
        SparkTestData.images().toString(), "--output", tmp.resolve("o2").toString());
    assertEquals(2, bad.code, bad.text);
    assertEquals("rest-tf: " + tmp.resolve("missing") + ": no such directory", bad.text.strip());
  }

  record Run(int code, String text) {}



  private static Run java(Path jar, String sparkJars, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx2g");
    for (String o : System.getProperty("spark.java.opens").split("\\s+")) cmd.add(o);
    cmd.add("-cp");
    cmd.add(jar + File.pathSeparator + sparkJars);
    cmd.add("io.resttf.spark.SparkJobMain");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "3");
    Process p = pb.start();
    String text = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(5, TimeUnit.MINUTES));
    // Spark's own log lines (log4j's defaults, as on a cluster) are not ours to check: keep the job's lines
    StringBuilder ours = new StringBuilder();
    for (String line : text.split("\n")) if (line.startsWith("rest-tf") || line.startsWith("spark-")) ours.append(line).append('\n');
    return new Run(p.exitValue(), p.exitValue() == 0 || ours.length() > 0 ? ours.toString() : text);
  }
}
