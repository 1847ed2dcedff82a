package io.resttf.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import io.resttf.tensor.TfTensors;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/** The FPN example: the backbone inside a user graph gives the reference features; the pyramid has its shapes. */
class FpnOnBackboneTest {
  static final Path D2 = Path.of("../converters/src/test/resources/io/resttf/d2/parity/restv2_tiny-narrow-d2");

  @Test
  void pyramidOnDetectron2BackboneFeatures() {
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(D2.resolve("model_final.pth"), false, null);
    ConfigDetector.BackboneDetection d = ConfigDetector.detectDetectron2(w.stateDict());
    HostTensor x = Layouts.nchwToNhwc(Npy.read(D2.resolve("input_0.npy"))); // [1, 128, 160, 3]
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> images = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, 3)));
      FpnOnBackbone.Pyramid p = FpnOnBackbone.build(tf, d.backbone().config(), d.style(), d.keyPrefix(), images, 16, 0);
      try (Session s = new Session(g)) {
        s.initialize();
        RestModel.LoadReport report = p.backboneLoader().load(s, w.stateDict(), d.loadOptions(), 0);
        assertTrue(report.fresh().isEmpty());
        Session.Runner r = s.runner();
        try (TFloat32 in = TfTensors.toTf(x)) {
          r.feed(images, in);
          p.backbone().forEach(r::fetch);
          p.levels().forEach(r::fetch);
          try (Result res = r.run()) {
            for (int i = 0; i < 4; i++) {
              HostTensor got = TfTensors.toHost((TFloat32) res.get(i));
              float[] ref = Npy.read(D2.resolve("stage" + (i + 1) + "_0.npy")).toFloats();
              double err = 0;
              for (int j = 0; j < ref.length; j++) err = Math.max(err, Math.abs(ref[j] - got.toFloats()[j]));
              assertTrue(err < 1e-4, "C" + (i + 2) + " error " + err);
            }
            long[][] shapes = {{1, 32, 40, 16}, {1, 16, 20, 16}, {1, 8, 10, 16}, {1, 4, 5, 16}, {1, 2, 3, 16}};
            for (int i = 0; i < 5; i++) assertArrayEquals(shapes[i], res.get(4 + i).shape().asArray(), "P" + (i + 2));
          }
        }
      }
    }
  }
}
