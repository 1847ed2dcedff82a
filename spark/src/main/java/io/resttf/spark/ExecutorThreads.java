package io.resttf.spark;

import java.io.Serializable;

/**
 * TF's thread pools in an executor JVM, sized by its first model load. {@code interOp} is the executor's cores
 * (the tasks it runs at once), so that concurrent tasks each get a thread to run their ops on; {@code intraOp}
 * is how many threads one op may split over. One intra-op thread lets each task's ops run whole on its own core,
 * which is faster for small models (README, "Running on Spark"). 0 leaves TF's default (every core).
 */
record ExecutorThreads(int intraOp, int interOp) implements Serializable {}
