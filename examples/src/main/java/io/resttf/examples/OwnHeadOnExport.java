package io.resttf.examples;

import io.resttf.serving.ServingSignatures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;

/**
 * ResT's features inside a TensorFlow graph of your own: an exported SavedModel's graph is imported into
 * your {@link Graph} under a name prefix, its variables restored from the export's {@code variables/}, and
 * your own head (here global average pooling of {@code stage4} + a linear layer) put on the {@code features}
 * signature's outputs, then trained with tensorflow-framework's Adam while the backbone stays frozen (a
 * linear probe; only the head's variables get gradients).
 *
 * <pre>
 * java -cp "examples/target/rest-tf-examples-0.1.0-SNAPSHOT.jar:cli/target/lib/*" io.resttf.examples.OwnHeadOnExport \
 *     savedmodels/restv2_tiny/1
 * </pre>
 *
 * <p>The other way in, building the network itself inside your {@code Ops} scope on your own input tensor
 * ({@code RestNetwork.build} / {@code buildBackbone}), is {@link FpnOnBackbone}.
 */
public final class OwnHeadOnExport {
  private OwnHeadOnExport() {}

  /** The export's graph inside yours: its input, its feature maps (strides 4-32), and how to fill its variables. */
  public record Imported(String prefix, Output<TFloat32> pixelValues, int inChans, List<Output<TFloat32>> stages,
      List<Integer> stageChannels, String restoreOp, String filenameTensor, Path variables) {
    /** Restores the export's variables into {@code session} (the export's own saver, under the prefix). */
    public void restore(Session session) {
      try (TString file = TString.scalarOf(variables.toString())) {
        session.runner().addTarget(restoreOp).feed(filenameTensor, file).run();
      }
    }
  }

  /** Your head on the features: its labels input, logits, loss and one Adam step over the head's variables only. */
  public record Head(Placeholder<TInt32> labels, Operand<TFloat32> logits, Operand<TFloat32> loss, Op trainStep,
      List<Variable<TFloat32>> variables) {}

  /** Imports the SavedModel in {@code versionDir} (tag serve) into {@code g} under {@code prefix}. */
  @SuppressWarnings("unchecked")
  public static Imported importFeatures(Graph g, Path versionDir, String prefix) {
    MetaGraphDef mg;
    try {
      SavedModel sm = SavedModel.parseFrom(Files.readAllBytes(versionDir.resolve("saved_model.pb")));
      mg = sm.getMetaGraphsList().stream().filter(m -> m.getMetaInfoDef().getTagsList().contains(ServingSignatures.TAG))
          .findFirst().orElseThrow(() -> new IllegalArgumentException(versionDir + ": no MetaGraph tagged serve"));
    } catch (IOException e) {
      throw new UncheckedIOException(versionDir + ": cannot read saved_model.pb", e);
    }
    SignatureDef features = mg.getSignatureDefMap().get(ServingSignatures.FEATURES);
    if (features == null) throw new IllegalArgumentException(versionDir + ": no features signature");
    g.importGraphDef(mg.getGraphDef(), prefix);
    Output<TFloat32> pixels = (Output<TFloat32>) output(g, prefix, features.getInputsMap().get(ServingSignatures.PIXEL_VALUES).getName());
    List<Output<TFloat32>> stages = new ArrayList<>();
    List<Integer> channels = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      var info = features.getOutputsMap().get(ServingSignatures.stage(i));
      stages.add((Output<TFloat32>) output(g, prefix, info.getName()));
      channels.add((int) info.getTensorShape().getDim(3).getSize());
    }
    int inChans = (int) features.getInputsMap().get(ServingSignatures.PIXEL_VALUES).getTensorShape().getDim(3).getSize();
    return new Imported(prefix, pixels, inChans, List.copyOf(stages), List.copyOf(channels), prefix + "/" + mg.getSaverDef().getRestoreOpName(),
        prefix + "/" + mg.getSaverDef().getFilenameTensorName(), versionDir.resolve("variables").resolve("variables"));
  }

  private static Output<?> output(Graph g, String prefix, String tensorName) {
    int colon = tensorName.lastIndexOf(':');
    return g.operation(prefix + "/" + tensorName.substring(0, colon)).output(Integer.parseInt(tensorName.substring(colon + 1)));
  }

  /**
   * Global average pooling of {@code features} [B, h, w, C] + a linear layer to {@code classes} (weights
   * N(0, 0.02) from {@code seed}, zero bias), softmax cross-entropy, and an Adam step on those two variables.
   */
  public static Head linearHead(Graph g, Operand<TFloat32> features, int channels, int classes, float learningRate, long seed) {
    Ops top = Ops.create(g), tf = top.withSubScope("my_head");
    // names without '/': tensorflow-framework's Adam names its slots after the variable and refuses a '/'
    Variable<TFloat32> w = top.withName("my_head_weight").variable(tf.math.mul(tf.random.statelessRandomNormal(
        tf.constant(new long[] {channels, classes}), tf.constant(new long[] {seed, 1}), TFloat32.class), tf.constant(0.02f)));
    Variable<TFloat32> b = top.withName("my_head_bias").variable(tf.zeros(tf.constant(new int[] {classes}), TFloat32.class));
    Operand<TFloat32> pooled = tf.math.mean(features, tf.constant(new int[] {1, 2}));
    Operand<TFloat32> logits = tf.nn.biasAdd(tf.linalg.matMul(pooled, w), b);
    Placeholder<TInt32> labels = tf.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1)));
    Operand<TFloat32> onehot = tf.oneHot(labels, tf.constant(classes), tf.constant(1f), tf.constant(0f));
    Operand<TFloat32> loss = tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(logits, onehot).loss(), tf.constant(0));
    // gradients of the head's variables only: the imported backbone stays as exported
    Output<?>[] grads = g.addGradients(loss.asOutput(), new Output<?>[] {w.asOutput(), b.asOutput()});
    Optimizer adam = new Adam(g, learningRate);
    @SuppressWarnings({"unchecked", "rawtypes"})
    List<Optimizer.GradAndVar<?>> gv = List.of(new Optimizer.GradAndVar(grads[0], w.asOutput()),
        new Optimizer.GradAndVar(grads[1], b.asOutput()));
    Op step = adam.applyGradients((List) gv, "my_head_adam");
    return new Head(labels, logits, loss, step, List.of(w, b));
  }

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: OwnHeadOnExport SAVEDMODEL_VERSION_DIR");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    try (Graph g = new Graph()) {
      Imported rest = importFeatures(g, dir, "rest");
      Head head = linearHead(g, rest.stages().get(3), rest.stageChannels().get(3), 3, 1e-2f, 0);
      try (Session s = new Session(g)) {
        s.initialize(); // the head's variables and Adam's slots
        rest.restore(s); // the backbone's, from the export
        int n = 6, size = 64;
        float[] x = new float[n * size * size * rest.inChans()];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(0.01 * i * (1 + i % 7));
        try (TFloat32 images = TFloat32.tensorOf(Shape.of(n, size, size, rest.inChans()),
                org.tensorflow.ndarray.buffer.DataBuffers.of(x, true, false));
            TInt32 labels = TInt32.vectorOf(0, 1, 2, 0, 1, 2)) {
          for (int step = 0; step <= 50; step++) {
            try (Result r = s.runner().feed(rest.pixelValues(), images).feed(head.labels(), labels)
                .addTarget(head.trainStep()).fetch(head.loss()).run()) {
              if (step % 10 == 0) System.out.printf(Locale.ROOT, "step %d  loss %.4f%n", step, ((TFloat32) r.get(0)).getFloat());
            }
          }
        }
      }
    }
  }
}
