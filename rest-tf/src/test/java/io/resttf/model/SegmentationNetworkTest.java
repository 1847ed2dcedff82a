package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/** The segmentor's structure (keys, shapes) and its adaptive pooling against PyTorch's bin definition. */
class SegmentationNetworkTest {
  /** restv2_tiny with every width / 8, mmseg's heads / 8, 10 classes: the parity fixtures' shape. */
  static final RestConfig NARROW_TINY = RestConfig.official(Family.V2, List.of(12, 24, 48, 96), List.of(1, 2, 4, 8),
      List.of(1, 2, 6, 2), List.of(8, 4, 2, 1), List.of(4, 4, 4, 4), 0, 3, true, false, 1e-6, 0.0);
  static final UperNetConfig NARROW_HEAD = new UperNetConfig(64, UperNetConfig.DEFAULT_POOL_SCALES, 10, 32, 2);

  @Test
  void adaptivePoolingUsesPyTorchBinsForUnevenSizes() {
    // sizes that the scales do not divide: bins uneven (5 / 3) and overlapping (4 / 6, 5 / 6)
    for (int[] hw : new int[][] {{4, 5}, {5, 7}, {7, 5}, {6, 6}}) {
      for (int s : new int[] {1, 2, 3, 6}) {
        int h = hw[0], w = hw[1], c = 3;
        float[] x = new float[h * w * c];
        SplittableRandom rng = new SplittableRandom(h * 31 + w * 7 + s);
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextDouble(-1, 1);
        float[] got;
        try (Graph g = new Graph()) {
          Ops tf = Ops.create(g);
          Placeholder<TFloat32> in = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, c)));
          Nn nn = new Nn(tf, new Params(tf), NARROW_TINY, null);
          Operand<TFloat32> y = nn.adaptiveAvgPool(in, s);
          try (Session sess = new Session(g); TFloat32 t = TfTensors.toTf(HostTensor.ofFloats(new long[] {1, h, w, c}, x));
              Result r = sess.runner().feed(in, t).fetch(y).run()) {
            HostTensor out = TfTensors.toHost((TFloat32) r.get(0));
            assertArrayEquals(new long[] {1, s, s, c}, out.shape());
            got = out.toFloats();
          }
        }
        for (int i = 0; i < s; i++) {
          int r0 = Math.floorDiv(i * h, s), r1 = -Math.floorDiv(-(i + 1) * h, s);
          for (int j = 0; j < s; j++) {
            int c0 = Math.floorDiv(j * w, s), c1 = -Math.floorDiv(-(j + 1) * w, s);
            for (int ch = 0; ch < c; ch++) {
              double sum = 0;
              for (int a = r0; a < r1; a++) for (int b = c0; b < c1; b++) sum += x[(a * w + b) * c + ch];
              double want = sum / ((r1 - r0) * (c1 - c0));
              assertEquals(want, got[(i * s + j) * c + ch], 1e-6, h + "x" + w + " scale " + s + " cell " + i + "," + j);
            }
          }
        }
      }
    }
  }

  @Test
  void keysAreTheOfficialMmsegOnesAndOutputsHaveTheirShapes() {
    try (SegmentationModel m = SegmentationModel.create(NARROW_TINY, NARROW_HEAD)) {
      Map<String, Params.Param> all = m.network().params().all();
      assertTrue(all.containsKey("backbone.stem.proj.0.weight"));
      assertTrue(all.containsKey("backbone.norm_4.bias"));
      assertTrue(all.keySet().stream().noneMatch(k -> k.equals("backbone.norm.weight") || k.startsWith("backbone.head.")));
      assertArrayEquals(new long[] {64, 96 + 4 * 64, 3, 3}, all.get("decode_head.bottleneck.conv.weight").officialShape());
      assertArrayEquals(new long[] {64, 12, 1, 1}, all.get("decode_head.lateral_convs.0.conv.weight").officialShape());
      assertArrayEquals(new long[] {64, 96, 1, 1}, all.get("decode_head.psp_modules.3.1.conv.weight").officialShape());
      assertArrayEquals(new long[] {64, 4 * 64, 3, 3}, all.get("decode_head.fpn_bottleneck.conv.weight").officialShape());
      assertArrayEquals(new long[] {10, 64, 1, 1}, all.get("decode_head.conv_seg.weight").officialShape());
      assertArrayEquals(new long[] {32, 48, 3, 3}, all.get("auxiliary_head.convs.0.conv.weight").officialShape());
      assertArrayEquals(new long[] {10}, all.get("auxiliary_head.conv_seg.bias").officialShape());
      assertTrue(all.containsKey("decode_head.fpn_convs.2.bn.running_var"));
      assertNull(all.get("decode_head.lateral_convs.3.conv.weight"), "level 3 goes through the PPM, not a lateral conv");

      m.initFresh(1);
      float[] x = new float[2 * 128 * 160 * 3];
      SplittableRandom rng = new SplittableRandom(3);
      for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
      SegmentationModel.Outputs out = m.forward(HostTensor.ofFloats(new long[] {2, 128, 160, 3}, x));
      assertArrayEquals(new long[] {2, 128, 160, 10}, out.segLogits().shape());
      assertArrayEquals(new long[] {2, 32, 40, 12}, out.features().get(0).shape());
      assertArrayEquals(new long[] {2, 4, 5, 96}, out.features().get(3).shape());
      assertArrayEquals(new long[] {2, 8, 10, 10}, out.auxLogits().shape());
      for (float v : out.segLogits().toFloats()) assertTrue(Float.isFinite(v));
    }
  }
}
