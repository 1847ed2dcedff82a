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

  /**
   * Logits of image 0 of a batch of {@code n} copies of one 224² image, from a traced run; the executed node names
   * and op expressions ("Op(inputs)") go into {@code nodes}.
   */
  static float[] firstImageLogits(RestModel m, int n, List<String> nodes) {
    try (org.tensorflow.types.TFloat32 x = org.tensorflow.types.TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(n, 224, 224, 3), d -> {
          long[] i = {0};
          d.scalars().forEach(s -> s.setFloat((float) Math.sin(0.37 * (i[0]++ % (224 * 224 * 3)))));
        });
         Result r = run(m.session().runner().feed(m.network().input(), x).fetch(m.network().logits()))) {
      for (NodeExecStats s : nodes(r)) {
        String label = s.getTimelineLabel();
        int eq = label.indexOf(" = ");
        nodes.add(s.getNodeName());
        if (eq >= 0) nodes.add(label.substring(eq + 3));
      }
      org.tensorflow.types.TFloat32 logits = (org.tensorflow.types.TFloat32) r.get(0);
      float[] out = new float[(int) logits.shape().get(1)];
      for (int j = 0; j < out.length; j++) out[j] = logits.getFloat(0, j);
      return out;
    }
  }
}
