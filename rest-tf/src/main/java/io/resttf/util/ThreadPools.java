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

  /**
   * Sizes the intra-op pool (threads one op may split over) and the inter-op pool (ops and runs executed at
   * once); 0 leaves TF's default for that pool (one thread per core). Has no effect after the process's first
   * session.
   */
  public static void size(int intraOp, int interOp) {
    ConfigProto proto = ConfigProto.newBuilder().setIntraOpParallelismThreads(intraOp)
        .setInterOpParallelismThreads(interOp).build();
    try (Graph g = new Graph(); Session s = new Session(g, proto)) {
      // creating the session is what sizes the pools
    }
  }
}
