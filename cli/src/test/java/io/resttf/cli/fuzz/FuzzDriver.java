package io.resttf.cli.fuzz;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.resttf.testing.Fixtures;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The CLI fuzzer's driver: starts ONE worker JVM ({@link FuzzWorker}), feeds it case indices, and checks
 * the invariants of every case: exit code 0 or 2; on an error at least one and at most one {@code rest-tf:}
 * line (classify: one per image); no stack trace (stderr, stdout, native stderr); the worker did not die;
 * the case finished within its time limit; the worker's peak RSS stayed under the bound; nothing
 * half-written ({@link ArtifactCheck}). A dead, hung or over-bound worker is recorded and replaced.
 *
 * <p>{@code FuzzDriver [--cases N] [--seed S] [--work DIR] [--time-limit SEC] [--rss-bound MB] [--xmx SIZE]
 * [--only INDEX] [--keep-failed K] [--json FILE]}. Exit code 0 when every case passed, 1 otherwise.
 */
public final class FuzzDriver {
  private FuzzDriver() {}

  static final class Options {
    int cases = 1000;
    long seed = 1;
    Path work;
    int timeLimitS = 120;
    long rssBoundMb = 4096;
    String xmx = "1536m";
    Integer only;
    int keepFailed = 20;
    Path json;
    int progressEveryS = 15;
  }

  record Failure(String invariant, int index, String kind, String command, String detail) {}

  static final class Summary {
    long seed;
    int cases;
    int passed;
    double wallS;
    long worstRssMb;
    long rssBoundMb;
    int timeLimitS;
    int workerStarts;
    final Map<String, Integer> exitCodes = new TreeMap<>();
    final Map<String, Integer> kinds = new TreeMap<>();
    final Map<String, Integer> verbs = new TreeMap<>();
    final Map<String, Long> msByVerb = new TreeMap<>();
    final Map<String, Integer> failuresByInvariant = new TreeMap<>();
    final List<Failure> failures = new ArrayList<>();
    final List<Map<String, Object>> slowest = new ArrayList<>();
    int nativeStderrCases;
    final Map<String, Integer> nativeStderr = new TreeMap<>();

    boolean ok() {
      return failures.isEmpty();
    }

    String report() {
      StringBuilder b = new StringBuilder();
      b.append(String.format(Locale.ROOT, "fuzz-cli: seed %d, %d cases in %.1f s (%.1f cases/s), worst worker RSS %d MB (bound %d MB),"
          + " %d worker start(s)%n", seed, cases, wallS, cases / Math.max(wallS, 1e-9), worstRssMb, rssBoundMb, workerStarts));
      b.append("  exit codes: ").append(exitCodes).append('\n');
      b.append("  kinds:      ").append(kinds).append('\n');
      b.append("  verbs:      ").append(verbs).append('\n');
      if (nativeStderrCases > 0) {
        b.append("  native stderr (TensorFlow's libraries, not an invariant) in ").append(nativeStderrCases).append(" cases: ")
            .append(nativeStderr.keySet().stream().limit(8).toList()).append('\n');
      }
      if (failures.isEmpty()) {
        b.append("  all invariants held\n");
      } else {
        b.append("  FAILURES by invariant: ").append(failuresByInvariant).append('\n');
        for (Failure f : failures.subList(0, Math.min(failures.size(), 50))) {
          b.append(String.format(Locale.ROOT, "  [%s] case %d (%s; reproduce: ci/fuzz-cli --seed %d --only %d)%n    %s%n    %s%n",
              f.invariant(), f.index(), f.kind(), seed, f.index(), f.command(), f.detail().replace("\n", "\n    ")));
        }
        if (failures.size() > 50) b.append("  ... ").append(failures.size() - 50).append(" more (see the JSON summary)\n");
      }
      return b.toString();
    }

    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("seed", seed);
      m.put("cases", cases);
      m.put("passed", passed);
      m.put("wall_s", Math.round(wallS * 10) / 10.0);
      m.put("worst_rss_mb", worstRssMb);
      m.put("rss_bound_mb", rssBoundMb);
      m.put("time_limit_s", timeLimitS);
      m.put("worker_starts", workerStarts);
      m.put("exit_codes", exitCodes);
      m.put("kinds", kinds);
      m.put("verbs", verbs);
      m.put("ms_by_verb", msByVerb);
      m.put("failures_by_invariant", failuresByInvariant);
      List<Map<String, Object>> fs = new ArrayList<>();
      for (Failure f : failures) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("invariant", f.invariant());
        x.put("index", f.index());
        x.put("kind", f.kind());
        x.put("command", f.command());
        x.put("detail", f.detail());
        x.put("reproduce", "ci/fuzz-cli --seed " + seed + " --only " + f.index());
        fs.add(x);
      }
      m.put("failures", fs);
      m.put("slowest", slowest);
      m.put("native_stderr_cases", nativeStderrCases);
      m.put("native_stderr_lines", nativeStderr);
      return m;
    }
  }

  public static void main(String[] args) throws Exception {
    Options o = new Options();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--cases" -> { o.cases = Integer.parseInt(v); i++; }
        case "--seed" -> { o.seed = Long.parseLong(v); i++; }
        case "--work" -> { o.work = Path.of(v); i++; }
        case "--time-limit" -> { o.timeLimitS = Integer.parseInt(v); i++; }
        case "--rss-bound" -> { o.rssBoundMb = Long.parseLong(v); i++; }
        case "--xmx" -> { o.xmx = v; i++; }
        case "--only" -> { o.only = Integer.parseInt(v); i++; }
        case "--keep-failed" -> { o.keepFailed = Integer.parseInt(v); i++; }
        case "--json" -> { o.json = Path.of(v); i++; }
        case "-h", "--help" -> {
          System.out.println("usage: ci/fuzz-cli [--cases N] [--seed S] [--work DIR] [--time-limit SEC] [--rss-bound MB]"
              + " [--xmx SIZE] [--only INDEX] [--keep-failed K] [--json FILE]");
          return;
        }
        default -> throw new IllegalArgumentException("unknown argument " + a);
      }
    }
    if (o.work == null) o.work = Files.createTempDirectory("rest-tf-fuzz");
    Summary s = run(o, System.out);
    System.out.print(s.report());
    if (o.json == null) o.json = o.work.resolve("summary.json");
    writeJson(s, o.json);
    System.out.println("  JSON summary: " + o.json);
    System.exit(s.ok() ? 0 : 1);
  }

  static void writeJson(Summary s, Path file) throws IOException {
    if (file.getParent() != null) Files.createDirectories(file.getParent());
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), s.json());
  }

  // ------------------------------------------------------------------ the worker process

  static final String EOF = "@@EOF";

  final static class Worker implements AutoCloseable {
    final Process process;
    final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
    final BlockingQueue<String> marks = new LinkedBlockingQueue<>();
    final StringBuffer nativeErr = new StringBuffer();
    final Writer stdin;

    Worker(Options o, Path log) throws IOException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      String cp = System.getProperty("surefire.test.class.path");
      if (cp == null || cp.isBlank()) cp = System.getProperty("java.class.path");
      // the worker runs in another directory: absolute entries
      cp = String.join(File.pathSeparator, Arrays.stream(cp.split(File.pathSeparator)).filter(x -> !x.isBlank())
          .map(x -> Path.of(x).toAbsolutePath().toString()).toList());
      Path cwd = o.work.resolve("cwd"), home = o.work.resolve("home");
      Files.createDirectories(cwd);
      Files.createDirectories(home);
      List<String> cmd = new ArrayList<>(List.of(java, "-Xmx" + o.xmx, "-XX:+UseParallelGC", "-XX:ErrorFile=" + o.work.resolve("hs_err_pid%p.log"),
          "-Dfixtures.dir=" + Fixtures.root().toAbsolutePath(), "-cp", cp, FuzzWorker.class.getName(), o.work.toAbsolutePath().toString(),
          Long.toString(o.seed)));
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
      pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
      pb.environment().put("REST_TF_HOME", home.toAbsolutePath().toString());
      pb.environment().remove("REST_TF_DEBUG");
      process = pb.start();
      stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      pump(process.getInputStream(), line -> stdout.add(line), () -> stdout.add(EOF), "fuzz-worker-stdout");
      pump(process.getErrorStream(), line -> {
        try {
          Files.writeString(log, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
          // the log is a convenience
        }
        if (line.startsWith(FuzzWorker.PREFIX + "MARK ")) marks.add(line.substring(FuzzWorker.PREFIX.length() + 5).strip());
        else nativeErr.append(line).append('\n');
      }, () -> marks.add(EOF), "fuzz-worker-stderr");
    }

    private static void pump(InputStream in, java.util.function.Consumer<String> each, Runnable end, String name) {
      Thread t = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
          for (String line; (line = r.readLine()) != null; ) each.accept(line);
        } catch (IOException e) {
          // the process went away
        } finally {
          end.run();
        }
      }, name);
      t.setDaemon(true);
      t.start();
    }

    void send(String line) throws IOException {
      stdin.write(line + "\n");
      stdin.flush();
    }

    /** The next protocol line (other stdout lines go to {@code other}), or null at the deadline. */
    String next(long deadlineNanos, StringBuilder other) throws InterruptedException {
      while (true) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) return null;
        String line = stdout.poll(left, TimeUnit.NANOSECONDS);
        if (line == null) return null;
        if (line.equals(EOF) || line.startsWith(FuzzWorker.PREFIX)) return line;
        other.append(line).append('\n');
      }
    }

    long pid() {
      return process.pid();
    }

    @Override
    public void close() {
      try {
        send("quit");
      } catch (IOException e) {
        // already gone
      }
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }

    void kill() {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** VmHWM (peak resident set) of a process in MB, or -1. */
  static long peakRssMb(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or gone
    }
    return -1;
  }

  // ------------------------------------------------------------------ invariants

  /** What a stack trace or an exception class name looks like in printed output. */
  static final Pattern STACK_TRACE = Pattern.compile("(?m)^\\s+at [\\w$.<>/]+\\(|Exception in thread|^Caused by: |\\.\\.\\. \\d+ more$"
      + "|\\bjava\\.(lang|io|nio|util)\\.[A-Z]\\w+|\\borg\\.tensorflow\\.exceptions|escaped from Main\\.run|\\bSIGSEGV\\b|\\bSIGABRT\\b");

  /** TensorFlow's Abseil log lines below ERROR, which bin/rest-tf filters out as well. */
  static final Pattern ABSL_INFO = Pattern.compile("^(WARNING: All log messages before absl::InitializeLog\\(\\) is called are written to STDERR$"
      + "|[IW][0-9]{4} [0-9:.]+ +[0-9]+ [^ ]+:[0-9]+\\] )");

  static List<String> errorLines(String stderr) {
    return stderr.lines().filter(l -> l.startsWith("rest-tf:") && !l.startsWith("rest-tf: warning:")).toList();
  }

  // ------------------------------------------------------------------ the run

  static Summary run(Options o, PrintStream log) throws IOException, InterruptedException {
    Files.createDirectories(o.work);
    Path stderrLog = o.work.resolve("worker-stderr.log");
    Summary s = new Summary();
    s.seed = o.seed;
    s.rssBoundMb = o.rssBoundMb;
    s.timeLimitS = o.timeLimitS;
    List<Integer> indices = new ArrayList<>();
    if (o.only != null) indices.add(o.only);
    else for (int i = 0; i < o.cases; i++) indices.add(i);
    long t0 = System.nanoTime(), lastProgress = t0;
    List<long[]> times = new ArrayList<>();
    Map<Integer, String> commands = new LinkedHashMap<>();
    int kept = 0;
    Worker w = null;
    try {
      for (int n = 0; n < indices.size(); n++) {
        int index = indices.get(n);
        if (w == null) {
          w = start(o, stderrLog);
          s.workerStarts++;
        }
        w.nativeErr.setLength(0);
        long start = System.nanoTime(), deadline = start + TimeUnit.SECONDS.toNanos(o.timeLimitS);
        w.send(Integer.toString(index));
        StringBuilder nativeOut = new StringBuilder();
        String begin = w.next(deadline, nativeOut);
        if (begin == null || !begin.startsWith(FuzzWorker.PREFIX + "BEGIN ")) {
          throw new IllegalStateException("worker did not start case " + index + ": " + begin + "\n" + w.nativeErr);
        }
        String[] b = begin.split(" ");
        String kind = b[3];
        List<String> args = Arrays.asList(FuzzWorker.dec(b[4]).split("\u0000", -1));
        String targetText = FuzzWorker.dec(b[5]);
        List<String> targets = targetText.isEmpty() ? List.of() : Arrays.asList(targetText.split("\u0000", -1));
        FuzzCase c = new FuzzCase(index, kind, args, targets);
        String command = c.commandLine();
        commands.put(index, command);
        s.cases++;
        s.kinds.merge(kind, 1, Integer::sum);
        s.verbs.merge(c.verb().isEmpty() ? "(none)" : c.verb(), 1, Integer::sum);
        List<Failure> found = new ArrayList<>();
        String end = w.next(deadline, nativeOut);
        long ms = (System.nanoTime() - start) / 1_000_000;
        Path caseDir = o.work.resolve("cases").resolve(Integer.toString(index));
        if (end == null) {
          found.add(new Failure("time-limit", index, kind, command, "no answer after " + o.timeLimitS + " s; worker killed"));
          s.exitCodes.merge("killed", 1, Integer::sum);
          w.kill();
          w = null;
        } else if (end.equals(EOF)) {
          int status = w.process.waitFor(10, TimeUnit.SECONDS) ? w.process.exitValue() : -1;
          String hs = hsErr(o.work, w.pid());
          found.add(new Failure("jvm-abort", index, kind, command, "worker died, exit status " + status
              + (status > 128 ? " (signal " + (status - 128) + ")" : "") + (hs != null ? "; " + hs : "") + "; native stderr: "
              + tail(w.nativeErr.toString(), 2000)));
          s.exitCodes.merge("died", 1, Integer::sum);
          w.kill();
          w = null;
        } else {
          String[] e = end.split(" ");
          int code = Integer.parseInt(e[3]);
          String stderr = FuzzWorker.dec(e[5]), stdout = FuzzWorker.dec(e[6]);
          // native stderr of this case: everything before the worker's marker
          String mark = w.marks.poll(5, TimeUnit.SECONDS);
          String nativeErr = w.nativeErr.toString().lines().filter(l -> !ABSL_INFO.matcher(l).find())
              .reduce("", (x, y) -> x + y + "\n");
          w.nativeErr.setLength(0);
          s.exitCodes.merge(Integer.toString(code), 1, Integer::sum);
          if (code != 0 && code != 2) {
            found.add(new Failure("exit-code", index, kind, command, "exit " + code + ": " + tail(stderr, 3000)));
          }
          List<String> errors = errorLines(stderr);
          int allowed = c.verb().equals("classify") ? Math.max(1, args.size()) : 1;
          if (errors.size() > allowed) {
            found.add(new Failure("error-lines", index, kind, command, errors.size() + " rest-tf: lines: " + tail(stderr, 3000)));
          }
          if (code != 0 && errors.isEmpty()) {
            found.add(new Failure("error-lines", index, kind, command, "exit " + code + " without a rest-tf: line; stderr: "
                + tail(stderr, 2000)));
          }
          for (String[] where : new String[][] {{"stderr", stderr}, {"stdout", stdout}, {"native stderr", nativeErr},
              {"native stdout", nativeOut.toString()}}) {
            var m = STACK_TRACE.matcher(where[1]);
            if (m.find()) {
              found.add(new Failure("stack-trace", index, kind, command, where[0] + " shows \"" + m.group() + "\": " + tail(where[1], 3000)));
            }
          }
          if (!nativeErr.isBlank()) {
            // not an invariant: libjpeg inside TensorFlow's decoder prints its warnings on stderr itself
            // ("Corrupt JPEG data: ...", "Improper call to JPEG library in state 201"); counted and shown
            s.nativeStderrCases++;
            nativeErr.lines().map(String::strip).forEach(l -> s.nativeStderr.merge(l.replaceAll("\\d+", "N"), 1, Integer::sum));
          }
          if (mark == null) {
            found.add(new Failure("jvm-abort", index, kind, command, "the worker's stderr marker did not arrive"));
          }
          long rss = peakRssMb(w.pid());
          s.worstRssMb = Math.max(s.worstRssMb, rss);
          if (rss > o.rssBoundMb) {
            found.add(new Failure("rss", index, kind, command, "worker peak RSS " + rss + " MB > bound " + o.rssBoundMb + " MB"));
            w.close();
            w = null;
          }
          for (String p : ArtifactCheck.check(c, code, caseDir)) found.add(new Failure("half-written", index, kind, command, p));
          if (ms > o.timeLimitS * 1000L) {
            found.add(new Failure("time-limit", index, kind, command, ms + " ms"));
          }
          if (o.only != null) {
            log.println("case " + index + " (" + kind + "): " + command);
            log.println("exit " + code + " in " + ms + " ms");
            log.println("--- stdout\n" + stdout + "--- stderr\n" + stderr + "--- native stderr\n" + nativeErr + "---");
            log.println("case directory kept: " + caseDir);
          }
        }
        times.add(new long[] {ms, index});
        s.msByVerb.merge(c.verb().isEmpty() ? "(none)" : c.verb(), ms, Long::sum);
        for (Failure f : found) {
          s.failures.add(f);
          s.failuresByInvariant.merge(f.invariant(), 1, Integer::sum);
        }
        if (found.isEmpty()) s.passed++;
        if (o.only == null) {
          if (!found.isEmpty() && kept < o.keepFailed) {
            kept++;
            log.println("fuzz-cli: case " + index + " failed (" + found.get(0).invariant() + "): " + command + "\n  " + found.get(0).detail()
                + "\n  files kept in " + caseDir);
          } else {
            ArtifactCheck.delete(caseDir);
          }
        }
        long now = System.nanoTime();
        if (now - lastProgress > TimeUnit.SECONDS.toNanos(o.progressEveryS) || n == indices.size() - 1) {
          lastProgress = now;
          double el = (now - t0) / 1e9, rate = (n + 1) / el;
          long eta = Math.round((indices.size() - n - 1) / Math.max(rate, 1e-9));
          log.printf(Locale.ROOT, "fuzz-cli: %d/%d cases, %.1f cases/s, elapsed %s, ETA %s, failures %d, worst RSS %d MB%n", n + 1,
              indices.size(), rate, hms(Math.round(el)), hms(eta), s.failures.size(), s.worstRssMb);
          log.flush();
        }
      }
    } finally {
      if (w != null) w.close();
    }
    s.wallS = (System.nanoTime() - t0) / 1e9;
    times.sort((x, y) -> Long.compare(y[0], x[0]));
    for (long[] t : times.subList(0, Math.min(5, times.size()))) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("index", t[1]);
      m.put("ms", t[0]);
      m.put("command", commands.get((int) t[1]));
      s.slowest.add(m);
    }
    return s;
  }

  private static Worker start(Options o, Path log) throws IOException, InterruptedException {
    Worker w = new Worker(o, log);
    StringBuilder other = new StringBuilder();
    // the first worker of a work directory makes the seeds (an export and a convert): minutes at most
    String ready = w.next(System.nanoTime() + TimeUnit.SECONDS.toNanos(600), other);
    if (ready == null || !ready.equals(FuzzWorker.PREFIX + "READY")) {
      w.kill();
      throw new IllegalStateException("fuzz worker did not start: " + ready + "\n" + other + tail(w.nativeErr.toString(), 4000));
    }
    w.nativeErr.setLength(0);
    return w;
  }

  private static String hsErr(Path work, long pid) {
    Path p = work.resolve("hs_err_pid" + pid + ".log");
    if (!Files.exists(p)) return null;
    try {
      return p + ": " + Files.readAllLines(p).stream().filter(l -> l.startsWith("#  ") || l.startsWith("# Problematic")).limit(4)
          .reduce("", (x, y) -> x + y.strip() + " ");
    } catch (IOException e) {
      return p.toString();
    }
  }

  static String tail(String s, int max) {
    s = s.strip();
    return s.length() <= max ? s : "..." + s.substring(s.length() - max);
  }

  private static String hms(long s) {
    return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60) : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }
}
