package io.resttf.model;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * Fills a network's variables from an official state_dict, strictly: a placeholder + assign op per
 * variable (never constants, which would copy the weights into the GraphDef), the key match with its
 * report, the layout transforms of {@link WeightMapping}, fresh values from {@link WeightInit} for what
 * may stay fresh; and back, the variables as an official state_dict. Every graph that holds a network
 * (the model, the serving graph of an export, the training graph) fills and reads it through this one
 * path, on its own variables.
 */
public final class WeightLoader {
  private final RestConfig config;
  private final Map<String, Params.Param> vars;
  private final Map<String, Placeholder<TFloat32>> feeds = new LinkedHashMap<>();
  private final Map<String, Op> assigns = new LinkedHashMap<>();

  private WeightLoader(RestConfig config, Map<String, Params.Param> vars) {
    this.config = config;
    this.vars = vars;
  }

  /** Adds the load ops for every parameter of {@code params} under the {@code load/} name scope. */
  public static WeightLoader create(Ops tf, Params params, RestConfig config) {
    WeightLoader l = new WeightLoader(config, params.all());
    Ops load = tf.withSubScope("load");
    for (Params.Param p : params.all().values()) {
      Placeholder<TFloat32> ph = load.placeholder(TFloat32.class, Placeholder.shape(Shape.of(p.tfShape())));
      l.feeds.put(p.key(), ph);
      l.assigns.put(p.key(), load.assign(p.variable(), ph));
    }
    return l;
  }

  /**
   * Loads an official state_dict (official keys and layouts) in one session run. Keys matching
   * {@code options.drop()} are ignored; variables whose key matches {@code options.allowMissing()} or
   * {@code drop()} and that the state_dict lacks get a fresh initialisation (seeded). Anything else that
   * is missing, unexpected or of the wrong shape is refused with one {@link BadInputException} that
   * lists it; nothing is assigned then. Parameters an option adds to a trained network (cwin's residual
   * convs, which start at zero) may always stay fresh: every checkpoint of the plain model loads into them.
   */
  /** A residual conv of {@link ParamKind#RESIDUAL_DEPTHWISE} kind, or its bias. */
  private boolean addedByOption(String key) {
    String weight = key.endsWith(".bias") ? key.substring(0, key.length() - ".bias".length()) + ".weight" : key;
    Params.Param p = vars.get(weight);
    return p != null && p.spec().kind() == ParamKind.RESIDUAL_DEPTHWISE;
  }

  public RestModel.LoadReport load(Session session, Map<String, HostTensor> stateDict, RestModel.LoadOptions options, long seed) {
    List<String> missing = new ArrayList<>(), fresh = new ArrayList<>(), unexpected = new ArrayList<>();
    List<String> mismatched = new ArrayList<>(), dropped = new ArrayList<>();
    Map<String, HostTensor> chosen = new LinkedHashMap<>();
    for (Map.Entry<String, HostTensor> e : stateDict.entrySet()) {
      String key = e.getKey();
      if (options.drop() != null && options.drop().matcher(key).matches()) {
        dropped.add(key);
        continue;
      }
      if (key.endsWith(".num_batches_tracked")) continue; // no information for inference
      Params.Param p = vars.get(key);
      if (p == null) {
        unexpected.add(key);
      } else if (!Arrays.equals(p.officialShape(), e.getValue().shape())) {
        mismatched.add(key + " expected " + Arrays.toString(p.officialShape()) + " got " + e.getValue().shapeString());
      } else if (!e.getValue().isFloating()) {
        mismatched.add(key + " has integer dtype " + e.getValue().dtype());
      } else {
        chosen.put(key, e.getValue());
      }
    }
    for (String key : vars.keySet()) {
      if (chosen.containsKey(key)) continue;
      boolean mismatch = mismatched.stream().anyMatch(m -> m.startsWith(key + " "));
      if (!mismatch && (options.mayStayFresh(key) || addedByOption(key))) {
        fresh.add(key);
      } else if (!mismatch) {
        missing.add(key);
      }
    }
    if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty()) {
      StringBuilder sb = new StringBuilder("weights do not fit the model:");
      appendList(sb, missing, "missing");
      appendList(sb, unexpected, "unexpected");
      appendList(sb, mismatched, "wrong shape");
      throw new BadInputException(sb.substring(0, sb.length() - 1));
    }
    SplittableRandom rng = new SplittableRandom(seed);
    List<Tensor> fed = new ArrayList<>();
    try {
      Session.Runner runner = session.runner();
      for (Params.Param p : vars.values()) {
        HostTensor official = chosen.containsKey(p.key())
            ? chosen.get(p.key())
            : WeightInit.init(p.spec(), config.family(), rng);
        TFloat32 tensor = TfTensors.toTf(WeightMapping.toTf(p.spec(), official));
        fed.add(tensor);
        runner.feed(feeds.get(p.key()), tensor);
        runner.addTarget(assigns.get(p.key()));
      }
      runner.run();
    } finally {
      fed.forEach(Tensor::close);
    }
    return new RestModel.LoadReport(chosen.size(), fresh, dropped);
  }

  /** The variables' current values as an official state_dict (official layouts, creation order). */
  public Map<String, HostTensor> stateDict(Session session) {
    return stateDict(session, Params.Param::variable);
  }

  /**
   * An official state_dict of the values {@code source} gives for each parameter (e.g. its EMA shadow,
   * a variable of the parameter's TF shape), converted back to the official layout by its declaration.
   */
  public Map<String, HostTensor> stateDict(Session session, Function<Params.Param, Operand<TFloat32>> source) {
    List<Params.Param> ps = new ArrayList<>(vars.values());
    Session.Runner r = session.runner();
    ps.forEach(p -> r.fetch(source.apply(p)));
    Map<String, HostTensor> out = new LinkedHashMap<>();
    try (Result res = r.run()) {
      for (int i = 0; i < ps.size(); i++) {
        Params.Param p = ps.get(i);
        out.put(p.key(), WeightMapping.toOfficial(p.spec(), TfTensors.toHost((TFloat32) res.get(i))));
      }
    }
    return out;
  }

  /** Appends " N what [first ten…]; " — whole lists of another model's weights would be unreadable. */
  private static void appendList(StringBuilder sb, List<String> items, String what) {
    if (items.isEmpty()) return;
    int shown = Math.min(items.size(), 10);
    sb.append(' ').append(items.size()).append(' ').append(what).append(' ')
        .append(items.subList(0, shown));
    if (shown < items.size()) sb.setLength(sb.length() - 1);
    if (shown < items.size()) sb.append(", … ").append(items.size() - shown).append(" more]");
    sb.append(';');
  }

}
