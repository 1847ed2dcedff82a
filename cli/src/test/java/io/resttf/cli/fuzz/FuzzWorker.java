package io.resttf.cli.fuzz;

import io.resttf.cli.Main;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;

/**
 * The fuzz worker: a JVM that runs cases in-process through {@link Main#run}, one at a time, as the driver
 * asks on stdin ({@code <index>} per line). Arguments: {@code <work dir> <seed>}. For each case it writes
 * the case's files under {@code <work dir>/cases/<index>}, reports the command line
 * ({@code @@FUZZ BEGIN}), runs it with stdout and stderr captured (System.out / System.err too), and
 * reports the exit code, the time and what was printed ({@code @@FUZZ END}). Protocol lines start with
 * {@code @@FUZZ} on the worker's real stdout; anything else there is native output.
 */
public final class FuzzWorker {
  private FuzzWorker() {}

  static final String PREFIX = "@@FUZZ ";

  public static void main(String[] args) throws Exception {
    Path work = Path.of(args[0]);
    long seed = Long.parseLong(args[1]);
    PrintStream proto = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    PrintStream realOut = System.out, realErr = System.err;
    Seeds seeds = new Seeds(work.resolve("seeds")).prepare();
    CaseGenerator gen = new CaseGenerator(seeds);
    proto.println(PREFIX + "READY");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      line = line.strip();
      if (line.isEmpty()) continue;
      if (line.equals("quit")) break;
      int index = Integer.parseInt(line);
      FuzzCase c = gen.generate(seed, index, work.resolve("cases").resolve(Integer.toString(index)));
      proto.println(PREFIX + "BEGIN " + index + " " + c.kind() + " " + enc(String.join("\u0000", c.args())) + " "
          + enc(String.join("\u0000", c.targets())));
      ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
      int code;
      long t0 = System.nanoTime();
      try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
          PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
        // code that prints to System.out / System.err directly is caught too
        System.setOut(o);
        System.setErr(e);
        try {
          code = Main.run(c.args().toArray(String[]::new), o, e);
        } catch (Throwable t) {
          // Main.run must not throw: report it as an escaped exception (exit code 99)
          code = 99;
          e.println("escaped from Main.run: " + t);
          t.printStackTrace(e);
        } finally {
          System.setOut(realOut);
          System.setErr(realErr);
        }
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      String stdout = out.toString(StandardCharsets.UTF_8);
      if (stdout.length() > 4000) stdout = stdout.substring(0, 4000) + "...";
      String stderr = err.toString(StandardCharsets.UTF_8);
      if (stderr.length() > 100_000) stderr = stderr.substring(0, 100_000) + "...";
      // native code writes straight to fd 2: this marker tells the driver where this case's stderr ends
      realErr.println(PREFIX + "MARK " + index);
      realErr.flush();
      proto.println(PREFIX + "END " + index + " " + code + " " + ms + " " + enc(stderr) + " " + enc(stdout));
    }
  }

  static String enc(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)) + "=";
  }

  static String dec(String s) {
    return new String(Base64.getDecoder().decode(s.substring(0, s.length() - 1)), StandardCharsets.UTF_8);
  }
}
