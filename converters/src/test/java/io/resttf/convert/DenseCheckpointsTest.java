package io.resttf.convert;

import static io.resttf.convert.ParityTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.BackboneModel;
import io.resttf.model.BackboneStyle;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.SegmentationModel;
import io.resttf.model.UperNetConfig;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import io.resttf.testing.Fixtures;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Classification weights into a segmentor, a segmentor's weights into a bare backbone. */
@Tag("parity")
class DenseCheckpointsTest {
  static final Path SEG = SegmentationParityTest.ROOT.resolve("restv2_tiny-narrow-upernet");

  @Test
  void aSegmentationCheckpointLoadsIntoABackboneWithoutItsHeads() {
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(SEG.resolve("weights.pth"), false, null);
    RestConfig config = ConfigDetector.detectSegmentation(w.stateDict()).backbone().config();
    try (BackboneModel m = BackboneModel.create(config, BackboneStyle.MMSEG, ConfigDetector.BACKBONE, null)) {
      RestModel.LoadReport r = m.load(w.stateDict(), DenseCheckpoints.backboneOfSegmentor(), 0);
      assertTrue(r.fresh().isEmpty(), r.fresh().toString());
      assertTrue(r.dropped().stream().allMatch(k -> k.startsWith("decode_head.") || k.startsWith("auxiliary_head.")));
      List<HostTensor> out = m.forward(Layouts.nchwToNhwc(Npy.read(SEG.resolve("input_0.npy"))));
      for (int s = 0; s < 4; s++) {
        assertClose(Npy.read(SEG.resolve("stage" + (s + 1) + "_0.npy")), out.get(s), 1e-4, true, "stage" + (s + 1));
      }
    }
  }

  /**
   * The official restv2_tiny-narrow classification weights start a segmentor: the trunk loads, the output
   * norms start at weight 1 / bias 0, so output i is the LayerNorm (eps 1e-6) of the official stage i output.
   */
  @Test
  void aClassificationCheckpointStartsASegmentorWithFreshNormsAndHeads() {
    Path cls = Fixtures.parity("restv2_tiny-narrow");
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(cls.resolve("weights.pth"), false, null);
    RestConfig config = DenseCheckpoints.backboneConfig(ConfigDetector.detect(w.stateDict()).config());
    Map<String, HostTensor> sd = DenseCheckpoints.classificationAsSegmentorBackbone(w.stateDict());
    try (SegmentationModel m = SegmentationModel.create(config, new UperNetConfig(16, UperNetConfig.DEFAULT_POOL_SCALES, 5, 8, 2))) {
      RestModel.LoadReport r = m.load(sd, DenseCheckpoints.segmentorFromClassification(), 0);
      assertEquals(8, r.fresh().stream().filter(k -> k.matches("backbone\\.norm_[1-4]\\.(weight|bias)")).count(), r.fresh().toString());
      assertTrue(r.fresh().stream().allMatch(k -> k.startsWith("backbone.norm_") || k.startsWith("decode_head.")
          || k.startsWith("auxiliary_head.")), r.fresh().toString());
      HostTensor x = Layouts.nchwToNhwc(Npy.read(cls.resolve("input_1.npy")));
      SegmentationModel.Outputs out = m.forward(x);
      for (int s = 0; s < 4; s++) {
        HostTensor stage = Npy.read(cls.resolve("stage" + (s + 1) + "_1.npy"));
        assertClose(layerNorm(stage, 1e-6), out.features().get(s), 1e-4, true, "normed stage" + (s + 1));
      }
    }
  }

  /** LayerNorm over the last axis, weight 1, bias 0, in double. */
  private static HostTensor layerNorm(HostTensor t, double eps) {
    long[] shape = t.shape();
    int c = (int) shape[shape.length - 1];
    double[] v = t.toDoubles();
    float[] out = new float[v.length];
    for (int row = 0; row < v.length / c; row++) {
      double mean = 0, var = 0;
      for (int j = 0; j < c; j++) mean += v[row * c + j];
      mean /= c;
      for (int j = 0; j < c; j++) var += (v[row * c + j] - mean) * (v[row * c + j] - mean);
      var /= c;
      for (int j = 0; j < c; j++) out[row * c + j] = (float) ((v[row * c + j] - mean) / Math.sqrt(var + eps));
    }
    return HostTensor.ofFloats(shape, out);
  }
}
