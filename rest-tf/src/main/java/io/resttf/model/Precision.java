package io.resttf.model;

import io.resttf.tensor.BadInputException;
import java.util.Locale;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.RewriterConfig;

/**
 * The arithmetic a session runs the model in. Inputs, outputs and variables stay float32 either way.
 * {@code BF16} turns on grappler's oneDNN bfloat16 auto-mixed-precision rewriter for the session: it
 * computes MatMuls, convolutions and the element-wise ops between them in bfloat16 where its allow-list
 * says so, and keeps what needs the range (softmax, reductions, norms' statistics) in float32.
 */
public enum Precision {
  FP32("fp32"),
  BF16("bf16");

  private final String id;

  Precision(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public static Precision parse(String s) {
    for (Precision p : values()) if (p.id.equals(s.toLowerCase(Locale.ROOT))) return p;
    throw new BadInputException("precision must be fp32 or bf16, got '" + s + "'");
  }

  /** {@code base} (may be null) with this precision's graph rewrite options. */
  public ConfigProto sessionConfig(ConfigProto base) {
    ConfigProto.Builder b = base == null ? ConfigProto.newBuilder() : base.toBuilder();
    if (this == BF16) {
      GraphOptions.Builder g = b.getGraphOptions().toBuilder();
      g.setRewriteOptions(g.getRewriteOptions().toBuilder()
          .setAutoMixedPrecisionOnednnBfloat16(RewriterConfig.Toggle.ON));
      b.setGraphOptions(g);
    }
    return b.build();
  }
}
