package io.resttf.spark;

import io.resttf.tensor.BadInputException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The job jar's entry point for {@code spark-submit}: the same verbs as {@code bin/rest-tf spark-*}, e.g.
 * {@code spark-submit --class io.resttf.spark.SparkJobMain rest-tf-spark-job.jar spark-classify --model ...}.
 * Errors are one line on stderr; exit 2 for bad input or usage, 1 for anything else.
 */
@Command(name = "rest-tf-spark", mixinStandardHelpOptions = true, description = "rest-tf jobs on Spark.",
    subcommands = {SparkClassifyCommand.class, SparkEmbedCommand.class, SparkSegmentCommand.class, CommandLine.HelpCommand.class})
public final class SparkJobMain implements Runnable {
  @Override
  public void run() {
    throw new CommandLine.ParameterException(new CommandLine(this), "missing verb: spark-classify, spark-embed or spark-segment");
  }

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  static int run(String[] args, PrintWriter out, PrintWriter err) {
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    CommandLine cl = new CommandLine(new SparkJobMain());
    cl.setOut(out);
    cl.setErr(err);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setParameterExceptionHandler((ex, a) -> {
      err.println("rest-tf: " + SparkJobCommand.firstLine(ex.getMessage()));
      return 2;
    });
    cl.setExecutionExceptionHandler((ex, c, p) -> {
      Throwable t = ex;
      for (Throwable x = ex; x != null; x = x.getCause() == x ? null : x.getCause()) {
        if (x instanceof BadInputException) {
          t = x;
          break;
        }
      }
      err.println("rest-tf: " + SparkJobCommand.firstLine(t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage()));
      if ("1".equals(System.getenv("REST_TF_DEBUG"))) ex.printStackTrace(err);
      return t instanceof BadInputException ? 2 : 1;
    });
    return cl.execute(args);
  }
}
