package io.resttf.training.data;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * Produces items {@code from}, {@code from+1}, … {@code to-1} on background threads, up to
 * {@code depth} ahead of the consumer, and hands them out in order. What item {@code i} is may only
 * depend on {@code i} (so results do not depend on the number of threads).
 */
public final class Prefetcher<T> implements AutoCloseable {
  private static final AtomicInteger POOLS = new AtomicInteger();

  private final ExecutorService pool;
  private final IntFunction<T> producer;
  private final int to;
  private final int depth;
  private final Deque<Future<T>> inFlight = new ArrayDeque<>();
  private int nextToSubmit;

  public Prefetcher(IntFunction<T> producer, int from, int to, int workers, int depth) {
    this.producer = producer;
    this.to = to;
    this.depth = Math.max(1, depth);
    this.nextToSubmit = from;
    int id = POOLS.incrementAndGet();
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(Math.max(1, workers), r -> {
      Thread t = new Thread(r, "rest-tf-loader-" + id + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    fill();
  }

  private void fill() {
    while (inFlight.size() < depth && nextToSubmit < to) {
      int i = nextToSubmit++;
      inFlight.add(pool.submit(() -> producer.apply(i)));
    }
  }

  public boolean hasNext() {
    return !inFlight.isEmpty();
  }

  /** The next item, waiting for it if needed; a producer's exception is rethrown here. */
  public T next() {
    Future<T> f = inFlight.poll();
    if (f == null) throw new IllegalStateException("no more items");
    try {
      T t = f.get();
      fill();
      return t;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while loading data", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException r) throw r;
      if (c instanceof Error err) throw err;
      throw new IllegalStateException(c);
    }
  }

  @Override
  public void close() {
    inFlight.forEach(f -> f.cancel(true));
    inFlight.clear();
    pool.shutdownNow();
  }
}
