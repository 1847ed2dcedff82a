package io.resttf.model;

import java.util.List;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunOptions;

/** Tests that read what a session run actually executed (after grappler's and oneDNN's rewrites). */
final class TracedRun {
  private TracedRun() {}

  /** Run options that record every executed node's stats. */
  static final RunOptions FULL_TRACE = RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build();

  /** Runs {@code runner} traced; the caller closes the result. */
  static Result run(Session.Runner runner) {
    return runner.setOptions(FULL_TRACE).runAndFetchMetadata();
  }

  /** Every node a traced run executed, over all devices. */
  static List<NodeExecStats> nodes(Result traced) {
    return traced.getMetadata().orElseThrow().getStepStats().getDevStatsList().stream()
        .flatMap(d -> d.getNodeStatsList().stream()).toList();
  }
}
