package io.resttf.cli;

import java.util.ArrayDeque;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs up to {@code inFlight} batches at once and hands their results to a sink in submission order, on the
 * submitting thread: the lines of a parallel {@code classify} come out as one batch at a time prints them.
 * A batch's exception is rethrown by the {@link #submit} or {@link #finish} that reaches it; {@link #close}
 * waits for every running batch (a session run cannot be interrupted) before the model may close.
 */
final class InOrderBatches<T> implements AutoCloseable {
  private final int inFlight;
  private final Consumer<T> sink;
  private final ExecutorService pool;
  private final ArrayDeque<Future<T>> pending = new ArrayDeque<>();

  InOrderBatches(int inFlight, Consumer<T> sink) {
    this.inFlight = inFlight;
    this.sink = sink;
    this.pool = Executors.newFixedThreadPool(inFlight, r -> {
      Thread t = new Thread(r, "classify-batch");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts a batch; first, if {@code inFlight} are running, waits for the oldest and sinks it. */
  void submit(Callable<T> batch) {
    if (pending.size() == inFlight) sink.accept(await(pending.removeFirst()));
    pending.addLast(pool.submit(batch));
  }

  /** Waits for the remaining batches and sinks them in order. */
  void finish() {
    while (!pending.isEmpty()) sink.accept(await(pending.removeFirst()));
  }

  @Override
  public void close() {
    pool.shutdownNow();
    boolean interrupted = false;
    while (true) {
      try {
        if (pool.awaitTermination(1, TimeUnit.SECONDS)) break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
  }

  private static <T> T await(Future<T> f) {
    try {
      return f.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) throw r;
      if (e.getCause() instanceof Error x) throw x;
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
