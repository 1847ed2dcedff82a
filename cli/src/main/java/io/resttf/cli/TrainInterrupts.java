package io.resttf.cli;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ctrl-C during {@code rest-tf train}: the first SIGINT asks the run to stop after the current step (it
 * then writes its checkpoint and returns normally, so nothing is cut off mid-write); a second one exits
 * at once. Handled with {@code sun.misc.Signal} rather than a shutdown hook, because a shutdown has
 * already begun when hooks run and the checkpoint writer could not finish its atomic rename.
 */
final class TrainInterrupts {
  private TrainInterrupts() {}

  static <T> T withCtrlC(Runnable stop, Callable<T> work) throws Exception {
    Object previous = null;
    sun.misc.Signal sig = null;
    AtomicInteger count = new AtomicInteger();
    PrintStream err = System.err;
    try {
      sig = new sun.misc.Signal("INT");
      previous = sun.misc.Signal.handle(sig, s -> {
        if (count.incrementAndGet() == 1) {
          err.println();
          err.println("rest-tf: stopping after this step and writing a checkpoint (Ctrl-C again to quit at once)");
          stop.run();
        } else {
          Runtime.getRuntime().halt(130);
        }
      });
    } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
      sig = null; // no signal support here: Ctrl-C ends the JVM; the last epoch's checkpoint stays
    }
    try {
      return work.call();
    } finally {
      if (sig != null && previous instanceof sun.misc.SignalHandler h) sun.misc.Signal.handle(sig, h);
    }
  }
}
