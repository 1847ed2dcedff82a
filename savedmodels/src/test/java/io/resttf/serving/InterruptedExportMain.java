package io.resttf.serving;

/**
 * Run in a separate JVM by {@link AtomicExportTest}: starts an export of a fixture case and stops
 * right before the rename, announcing the temporary directory, so the test can kill the JVM there.
 *
 * <p>Arguments: base name case
 */
public final class InterruptedExportMain {
  public static void main(String[] args) {
    SavedModelExporter.afterStaging = staging -> {
      System.out.println("STAGED " + staging);
      System.out.flush();
      try {
        Thread.sleep(120_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("not killed in time");
    };
    new SavedModelExporter(java.nio.file.Path.of(args[0]))
        .export(args[1], TestModels.config(args[2]), TestModels.weights(args[2]), ExportMetadata.defaults());
  }
}
