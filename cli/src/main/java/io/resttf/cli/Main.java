package io.resttf.cli;

import io.resttf.spark.SparkClassifyCommand;
import io.resttf.spark.SparkEmbedCommand;
import io.resttf.spark.SparkSegmentCommand;
import io.resttf.tensor.BadInputException;
import io.resttf.util.ErrorText;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code rest-tf} command line: {@code rest-tf <verb> [options]}.
 *
 * <p>Exit codes: 0 success, 2 bad usage or bad input (any {@link BadInputException}, any picocli
 * parameter error), 1 any other failure. Every error is one line on stderr, {@code "rest-tf: <message>"};
 * the stack trace follows only when the environment has {@code REST_TF_DEBUG=1}.
 *
 * <p>{@link #run} runs a command line in-process (for tests) and never calls {@link System#exit}.
 */
@Command(
    name = "rest-tf",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "ResT / ResTv2 vision transformers as TensorFlow graphs.",
    subcommands = {SummaryCommand.class, ForwardCommand.class, AnalyzeCommand.class, BenchCommand.class, BenchPeakCommand.class, BenchTrainCommand.class, BenchIoCommand.class, InspectCommand.class,
        ConvertCommand.class, ExportCommand.class, ClassifyCommand.class, SegmentCommand.class, RunCommand.class, DemoCommand.class, BenchSoakCommand.class, BenchServeCommand.class, TrainCommand.class, AugmentPreviewCommand.class, EvalCommand.class, DataCommand.class,
        SparkClassifyCommand.class, SparkEmbedCommand.class, SparkSegmentCommand.class, HelpCommand.class},
    footer = {"", "Exit codes: 0 ok, 2 bad usage or bad input, 1 other failure.",
        "Set REST_TF_DEBUG=1 to see stack traces."})
public final class Main implements Callable<Integer> {
  public static final int OK = 0;
  public static final int FAILURE = 1;
  public static final int BAD_INPUT = 2;

  static {
    // Library logging (slf4j-simple) would otherwise print INFO lines on stderr.
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    }
  }

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "missing verb: see rest-tf --help");
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command line; returns its exit code. Output goes to {@code out}, errors to {@code err}. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    PrintWriter outW = new PrintWriter(out, true);
    PrintWriter errW = new PrintWriter(err, true);
    try {
      CommandLine cl = commandLine(outW, errW);
      return cl.execute(args);
    } catch (OutOfMemoryError e) {
      return report(errW, e);
    } catch (RuntimeException e) {
      // picocli rethrows what a handler cannot handle; still one line.
      return report(errW, e);
    } finally {
      outW.flush();
      errW.flush();
    }
  }

  static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new Main());
    cl.setOut(out);
    cl.setErr(err);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setUsageHelpAutoWidth(true);
    cl.setParameterExceptionHandler((ex, args) -> {
      if (asksForHelp(args)) {
        // picocli validates required options and argument groups before it looks at --help
        ex.getCommandLine().usage(ex.getCommandLine().getOut());
        ex.getCommandLine().getOut().flush();
        return OK;
      }
      PrintWriter w = ex.getCommandLine().getErr();
      String verb = ex.getCommandLine().getCommandSpec().qualifiedName();
      w.println("rest-tf: " + oneLine(stripErrorPrefix(ex.getMessage())) + " (see '" + verb + " --help')");
      if (debug()) ex.printStackTrace(w);
      w.flush();
      return BAD_INPUT;
    });
    cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> report(commandLine.getErr(), ex));
    return cl;
  }

  /** Whether a command line asks for help ({@code -h} or {@code --help} before any {@code --}). */
  static boolean asksForHelp(String[] args) {
    for (String a : args) {
      if (a.equals("--")) return false;
      if (a.equals("-h") || a.equals("--help")) return true;
    }
    return false;
  }

  /** Prints the one-line error for {@code t} and returns its exit code. */
  static int report(PrintWriter err, Throwable t) {
    while (t instanceof CommandLine.ExecutionException && t.getCause() != null) t = t.getCause();
    int code;
    String message;
    BadInputException bad = badInput(t);
    if (bad != null) {
      code = BAD_INPUT;
      message = bad.getMessage();
    } else if (fileSystemFailure(t) != null) {
      // the OS said no (permission denied, read-only file system, no space left): the user can fix it
      code = BAD_INPUT;
      IOException io = fileSystemFailure(t);
      String reason = ErrorText.reason(io);
      message = t == io ? ErrorText.describe("file", io) : String.valueOf(t.getMessage());
      if (!message.toLowerCase(java.util.Locale.ROOT).contains(reason.toLowerCase(java.util.Locale.ROOT))) {
        message += " (" + reason + ")";
      }
    } else if (ErrorText.osReason(t.getMessage()) != null && isTensorFlow(t)) {
      code = BAD_INPUT;
      message = ErrorText.tensorFlow(t.getMessage());
    } else if (t instanceof OutOfMemoryError) {
      code = FAILURE;
      message = "out of memory (" + (t.getMessage() == null ? "Java heap" : t.getMessage())
          + "); raise the heap with REST_TF_JAVA_OPTS=-Xmx16g or use a smaller batch";
    } else {
      code = FAILURE;
      message = describe(t);
      if (!debug()) message += " (REST_TF_DEBUG=1 shows the stack trace)";
    }
    err.println("rest-tf: " + shorten(oneLine(message)));
    if (debug()) t.printStackTrace(err);
    err.flush();
    return code;
  }

  /** The first {@link BadInputException} in {@code t}'s cause chain, or null. */
  static BadInputException badInput(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof BadInputException b) return b;
    }
    return null;
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    // TF's exceptions carry the native status text: translated, without node names and hints
    if (isTensorFlow(t)) return "TensorFlow: " + ErrorText.tensorFlow(m);
    if (m == null || m.isBlank()) return "internal error (" + t.getClass().getSimpleName() + ")";
    return m;
  }

  private static boolean isTensorFlow(Throwable t) {
    return t.getClass().getName().startsWith("org.tensorflow");
  }

  /** The file-system failure (an IOException the OS reported) in {@code t}'s cause chain, or null. */
  static IOException fileSystemFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof FileSystemException f) return f;
      if (c instanceof IOException io && ErrorText.osReason(io.getMessage()) != null) return io;
    }
    return null;
  }

  static String oneLine(String s) {
    if (s == null) return "unknown error";
    return s.strip().replaceAll("\\s*\\R\\s*", "; ");
  }

  /** Longest error line printed whole; longer ones (e.g. hundreds of mismatched weights) are cut. */
  static final int MAX_MESSAGE = 2000;

  static String shorten(String line) {
    if (line.length() <= MAX_MESSAGE || debug()) return line;
    return line.substring(0, MAX_MESSAGE) + " ... (" + (line.length() - MAX_MESSAGE)
        + " more characters; REST_TF_DEBUG=1 prints the whole message)";
  }

  private static String stripErrorPrefix(String s) {
    return s != null && s.startsWith("Error: ") ? s.substring(7) : s;
  }

  static boolean debug() {
    return "1".equals(System.getenv("REST_TF_DEBUG")) || Boolean.getBoolean("rest_tf.debug");
  }

  /** Version from the jar manifest (Implementation-Version), "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"rest-tf " + (v == null ? "dev" : v)};
    }
  }
}
