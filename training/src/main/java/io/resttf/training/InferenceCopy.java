package io.resttf.training;

import io.resttf.model.Params;
import io.resttf.model.RestConfig;
import io.resttf.model.RestNetwork;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * A second network in inference mode (its own variables, in {@code ev}'s scope) that evaluates the model
 * or its EMA without touching the training network's BatchNorm statistics. Input: the training
 * network's variables and the EMA's, by official key. Output: the input placeholder, the network, and the
 * ops that copy the model's ({@link #fromModel}) or the EMA's ({@link #fromEma}) weights into it, in-graph.
 */
final class InferenceCopy {
  private final Placeholder<TFloat32> input;
  private final RestNetwork network;
  private final Op fromModel;
  private final Op fromEma;

  private InferenceCopy(Placeholder<TFloat32> input, RestNetwork network, Op fromModel, Op fromEma) {
    this.input = input;
    this.network = network;
    this.fromModel = fromModel;
    this.fromEma = fromEma;
  }

  /** Weights missing from {@code ema} (not averaged) are copied from the model. */
  static InferenceCopy create(Ops tf, Ops ev, RestConfig config, Map<String, Params.Param> model,
      Map<String, Variable<TFloat32>> ema) {
    Placeholder<TFloat32> input = ev.withName("pixel_values").placeholder(TFloat32.class,
        Placeholder.shape(Shape.of(-1, -1, -1, config.inChans())));
    RestNetwork network = RestNetwork.build(ev, config, input);
    List<Op> fromModel = new ArrayList<>(), fromEma = new ArrayList<>();
    for (Params.Param e : network.params().all().values()) {
      Variable<TFloat32> m = model.get(e.key()).variable();
      fromModel.add(ev.assign(e.variable(), m));
      fromEma.add(ev.assign(e.variable(), ema.getOrDefault(e.key(), m)));
    }
    return new InferenceCopy(input, network, tf.withControlDependencies(fromModel).withName("eval_from_model").noOp(),
        tf.withControlDependencies(fromEma).withName("eval_from_ema").noOp());
  }

  Placeholder<TFloat32> input() {
    return input;
  }

  RestNetwork network() {
    return network;
  }

  Op fromModel() {
    return fromModel;
  }

  Op fromEma() {
    return fromEma;
  }
}
