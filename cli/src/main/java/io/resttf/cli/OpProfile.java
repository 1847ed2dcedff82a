package io.resttf.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;

/**
 * Time per op type over traced runs (RunOptions FULL_TRACE → RunMetadata step stats): the ops as the
 * executor ran them, i.e. after grappler's remapper and oneDNN's layout pass (so fused kernels such as
 * {@code _MklFusedMatMul} show up as such). Op time is each node's op start to op end; with intra-op
 * threads and parallel ops the sum can exceed the wall time, so shares are of the summed op time.
 */
final class OpProfile {
  private static final RunOptions TRACE = RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build();

  private final Map<String, long[]> byType = new TreeMap<>(); // type → {micros, node executions}
  private final Map<String, long[]> byNode = new TreeMap<>(); // "type name" → {micros, executions}
  private final Map<String, String> nodeShapes = new TreeMap<>(); // "type name" → its first output's shape
  private final Map<String, long[]> byScope = new TreeMap<>(); // first name component → {micros, executions}
  private final Map<String, Long> aloneByNode = new TreeMap<>(); // "type name" → micros with no other op running
  private long wallMicros;
  private long idleMicros; // between the first op's start and the last op's end, no op running

  /** Runs the runner once with full tracing and adds its step stats. */
  void add(Session.Runner runner) {
    long t0 = System.nanoTime();
    try (Result r = runner.setOptions(TRACE).runAndFetchMetadata()) {
      wallMicros += (System.nanoTime() - t0) / 1000;
      RunMetadata md = r.getMetadata().orElseThrow(() -> new IllegalStateException("no run metadata returned"));
      List<long[]> spans = new ArrayList<>(); // {start, end, index into spanNodes}
      List<String> spanNodes = new ArrayList<>(); // "type name" of each span
      for (DeviceStepStats dev : md.getStepStats().getDevStatsList()) {
        for (NodeExecStats n : dev.getNodeStatsList()) {
          String type = opType(n);
          if (type == null) continue;
          long[] acc = byType.computeIfAbsent(type, k -> new long[2]);
          acc[0] += Math.max(0, n.getOpEndRelMicros() - n.getOpStartRelMicros());
          acc[1]++;
          long[] node = byNode.computeIfAbsent(type + " " + n.getNodeName(), k -> new long[2]);
          node[0] += Math.max(0, n.getOpEndRelMicros() - n.getOpStartRelMicros());
          node[1]++;
          if (n.getOutputCount() > 0 && n.getOutput(0).hasTensorDescription())
            nodeShapes.putIfAbsent(type + " " + n.getNodeName(), shape(n.getOutput(0).getTensorDescription().getShape()));
          long[] scope = byScope.computeIfAbsent(scope(n.getNodeName()), k -> new long[2]);
          scope[0] += Math.max(0, n.getOpEndRelMicros() - n.getOpStartRelMicros());
          scope[1]++;
          long start = n.getAllStartMicros() + n.getOpStartRelMicros(), end = n.getAllStartMicros() + n.getOpEndRelMicros();
          if (end > start) {
            spans.add(new long[] {start, end, spanNodes.size()});
            spanNodes.add(type + " " + n.getNodeName());
          }
        }
      }
      addAlone(spans, spanNodes);
    }
  }

  private void addAlone(List<long[]> spans, List<String> spanNodes) {
    Concurrency c = concurrency(spans, spanNodes);
    c.alone().forEach((node, micros) -> aloneByNode.merge(node, micros, Long::sum));
    idleMicros += c.idle();
  }

  /** Per node, the micros it ran with no other op beside it; {@code idle}: micros with no op running. */
  record Concurrency(Map<String, Long> alone, long idle) {}

  /**
   * Sweeps one run's op spans ({start, end, index into nodes}): time during which exactly one op ran goes to that
   * op, time with none (between the first start and the last end) to idle. With one intra-op thread a lone op leaves
   * the other cores idle: these are the parts of the graph that run serially.
   */
  static Concurrency concurrency(List<long[]> spans, List<String> nodes) {
    List<long[]> events = new ArrayList<>(); // {time, +1 start / -1 end, span index}
    for (long[] sp : spans) {
      events.add(new long[] {sp[0], 1, sp[2]});
      events.add(new long[] {sp[1], -1, sp[2]});
    }
    events.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
    Map<String, Long> alone = new TreeMap<>();
    long idle = 0;
    java.util.Set<Long> running = new java.util.LinkedHashSet<>();
    long last = Long.MIN_VALUE;
    for (long[] e : events) {
      if (last != Long.MIN_VALUE && e[0] > last) {
        if (running.size() == 1) alone.merge(nodes.get((int) (long) running.iterator().next()), e[0] - last, Long::sum);
        else if (running.isEmpty()) idle += e[0] - last;
      }
      last = e[0];
      if (e[1] > 0) running.add(e[2]);
      else running.remove(e[2]);
    }
    return new Concurrency(alone, idle);
  }

  /** "name = Type(inputs)" → Type; null for the executor's own entries (_SOURCE, _SINK). */
  static String opType(NodeExecStats n) {
    String label = n.getTimelineLabel();
    int eq = label.indexOf(" = ");
    int paren = label.indexOf('(', Math.max(eq, 0));
    if (eq < 0 || paren < 0) return null;
    return label.substring(eq + 3, paren).trim();
  }

  /**
   * The part of the graph a node belongs to: its first name component ({@code stage1.0.mlp.fc1/BiasAdd} →
   * {@code stage1}, {@code gradients/…} → {@code gradients}, {@code optimizer/…} → {@code optimizer}); a
   * block's dotted index is cut so stages group whole.
   */
  static String scope(String nodeName) {
    int slash = nodeName.indexOf('/');
    String first = slash < 0 ? nodeName : nodeName.substring(0, slash);
    int dot = first.indexOf('.');
    return slash < 0 && dot < 0 ? "(top level)" : dot < 0 ? first : first.substring(0, dot);
  }

  private static String shape(org.tensorflow.proto.TensorShapeProto shape) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < shape.getDimCount(); i++) b.append(i == 0 ? "" : ",").append(shape.getDim(i).getSize());
    return b.append(']').toString();
  }

  void print(PrintWriter out, int runs) {
    Map<String, Long> aloneByScope = new TreeMap<>();
    aloneByNode.forEach((node, micros) -> aloneByScope.merge(scope(node.substring(node.indexOf(' ') + 1)), micros, Long::sum));
    long total = byType.values().stream().mapToLong(v -> v[0]).sum();
    List<Map.Entry<String, long[]>> rows = new ArrayList<>(byType.entrySet());
    rows.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
    out.printf(Locale.ROOT, "profile:     %d traced runs, %.2f ms wall per run (tracing adds overhead), %.2f ms op time per run%n",
        runs, wallMicros / 1000.0 / runs, total / 1000.0 / runs);
    out.printf(Locale.ROOT, "  %-36s %8s %10s %7s%n", "op type", "nodes", "ms/run", "share");
    for (Map.Entry<String, long[]> e : rows) {
      long[] v = e.getValue();
      out.printf(Locale.ROOT, "  %-36s %8d %10.3f %6.1f%%%n", e.getKey(), v[1] / runs, v[0] / 1000.0 / runs,
          100.0 * v[0] / Math.max(1, total));
    }
    List<Map.Entry<String, long[]>> scopes = new ArrayList<>(byScope.entrySet());
    scopes.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
    // "alone": no other op ran beside it (with one intra-op thread, the other cores idled meanwhile)
    out.printf(Locale.ROOT, "  %-36s %8s %10s %7s %10s%n", "graph part", "nodes", "ms/run", "share", "alone ms");
    for (Map.Entry<String, long[]> e : scopes) {
      long[] v = e.getValue();
      out.printf(Locale.ROOT, "  %-36s %8d %10.3f %6.1f%% %10.3f%n", e.getKey(), v[1] / runs, v[0] / 1000.0 / runs,
          100.0 * v[0] / Math.max(1, total), aloneByScope.getOrDefault(e.getKey(), 0L) / 1000.0 / runs);
    }
    out.printf(Locale.ROOT, "  one op running: %.3f ms/run; none: %.3f ms/run%n",
        aloneByNode.values().stream().mapToLong(Long::longValue).sum() / 1000.0 / runs, idleMicros / 1000.0 / runs);
    List<Map.Entry<String, long[]>> nodes = new ArrayList<>(byNode.entrySet());
    nodes.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
    out.printf(Locale.ROOT, "  slowest nodes (ms per run, of which alone):%n");
    for (Map.Entry<String, long[]> e : nodes.subList(0, Math.min(Integer.getInteger("resttf.profileNodes", 15), nodes.size()))) {
      out.printf(Locale.ROOT, "  %10.3f ms %8.3f  %s %s%n", e.getValue()[0] / 1000.0 / runs,
          aloneByNode.getOrDefault(e.getKey(), 0L) / 1000.0 / runs, e.getKey(), nodeShapes.getOrDefault(e.getKey(), ""));
    }
  }
}
