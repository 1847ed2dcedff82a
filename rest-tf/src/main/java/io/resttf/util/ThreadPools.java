package io.resttf.util;

import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.proto.ConfigProto;

/**
 * TF sizes its CPU thread pools once per process, from the options of the first session it creates; later
 * sessions' thread counts are ignored. Creating a throwaway session with the wanted counts before any model's
 * sizes them.
 */
public final class ThreadPools {
  private ThreadPools() {}

  private static final int UNSET = -1;
  /** The intra-op size of the first {@link #size} call in this process (the one that counts), or UNSET. */
  private static int firstIntraOp = UNSET;

  /**
   * Whether this process runs each op on one thread: its pools were first sized here with one intra-op thread,
   * or (not sized here) {@code TF_NUM_INTRAOP_THREADS=1}, which TF reads when it creates them.
   */
  public static synchronized boolean oneIntraOpThread() {
    return firstIntraOp == UNSET ? "1".equals(System.getenv("TF_NUM_INTRAOP_THREADS")) : firstIntraOp == 1;
  }

  /**
   * Sizes the intra-op pool (threads one op may split over) and the inter-op pool (ops and runs executed at
   * once); 0 leaves TF's default for that pool (one thread per core). Has no effect after the process's first
   * session.
   */
  public static synchronized void size(int intraOp, int interOp) {
    if (firstIntraOp == UNSET) firstIntraOp = intraOp;
    ConfigProto proto = ConfigProto.newBuilder().setIntraOpParallelismThreads(intraOp)
        .setInterOpParallelismThreads(interOp).build();
    try (Graph g = new Graph(); Session s = new Session(g, proto)) {
      // creating the session is what sizes the pools
    }
  }
}
