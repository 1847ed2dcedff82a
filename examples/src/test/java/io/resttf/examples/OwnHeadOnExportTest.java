package io.resttf.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.RestConfig;
import io.resttf.serving.ExportMetadata;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import io.resttf.tensor.TfTensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The composition example: an export's graph imported into another graph reproduces the float64 reference
 * features (and the export's own features signature), and a head of one's own on them trains, the backbone
 * untouched.
 */
class OwnHeadOnExportTest {
  static Path fixture() {
    String p = System.getProperty("fixtures.dir");
    return (p != null ? Path.of(p) : Path.of("../../shared/fixtures")).resolve("parity/restv2_tiny-narrow");
  }

  @Test
  void importedFeaturesMatchTheReferenceAndTheExportsOwnSignature(@TempDir Path tmp) throws Exception {
    Path fx = fixture();
    RestConfig config = RestConfig.read(fx.resolve("config.json"));
    Map<String, HostTensor> weights = Safetensors.read(fx.resolve("weights.safetensors"));
    Path version = new SavedModelExporter(tmp).export("m", config, weights, ExportMetadata.defaults()).versionDir();
    HostTensor x = Layouts.nchwToNhwc(Npy.read(fx.resolve("input_1.npy")));
    List<float[]> ref = new ArrayList<>(), viaSignature = new ArrayList<>();
    for (int i = 0; i < 4; i++) ref.add(Npy.read(fx.resolve("stage" + (i + 1) + "_1.npy")).toFloats());
    try (SavedModelBundle b = SavedModelBundle.load(version.toString(), "serve"); TFloat32 in = TfTensors.toTf(x);
        Result r = b.function("features").call(Map.of("pixel_values", in))) {
      for (int i = 0; i < 4; i++) viaSignature.add(TfTensors.toHost((TFloat32) r.get("stage" + (i + 1)).orElseThrow()).toFloats());
    }

    try (Graph g = new Graph()) {
      OwnHeadOnExport.Imported rest = OwnHeadOnExport.importFeatures(g, version, "rest");
      assertEquals(config.inChans(), rest.inChans());
      assertEquals(config.dim(3), rest.stageChannels().get(3));
      try (Session s = new Session(g); TFloat32 in = TfTensors.toTf(x)) {
        s.initialize();
        rest.restore(s);
        Session.Runner run = s.runner().feed(rest.pixelValues(), in);
        rest.stages().forEach(run::fetch);
        try (Result r = run.run()) {
          for (int i = 0; i < 4; i++) {
            float[] got = TfTensors.toHost((TFloat32) r.get(i)).toFloats();
            double scale = 1, err = 0, same = 0;
            for (int j = 0; j < got.length; j++) {
              scale = Math.max(scale, Math.abs(ref.get(i)[j]));
              err = Math.max(err, Math.abs(got[j] - ref.get(i)[j]));
              same = Math.max(same, Math.abs(got[j] - viaSignature.get(i)[j]));
            }
            assertTrue(err / scale < 1e-4, "stage" + (i + 1) + " vs the float64 reference: " + err);
            assertTrue(same <= 1e-6, "stage" + (i + 1) + " vs the export's features signature: " + same);
          }
        }
      }
    }
  }

  /**
   * The composite trains: the trained Fashion-MNIST ResTv2 exported, imported into a new graph, a two-class linear
   * head on its stage-4 features fitted by Adam to tell a shirt-like blob from stripes; the backbone stays frozen.
   */
  @Test
  void aHeadOfOnesOwnOnTheImportedFeaturesTrainsWithTheBackboneFrozen(@TempDir Path tmp) throws Exception {
    Path fashion = fixture().getParent().getParent().resolve("fashion-restv2-micro");
    RestConfig config = RestConfig.read(fashion.resolve("config.json"));
    Map<String, HostTensor> weights = io.resttf.convert.CheckpointFiles.read(fashion.resolve("weights.pth"), false, null).stateDict();
    Path version = new SavedModelExporter(tmp).export("fashion", config, weights, ExportMetadata.defaults()).versionDir();
    int n = 64;
    float[] two = new float[2 * n * n];
    for (int yy = 0; yy < n; yy++) {
      for (int xx = 0; xx < n; xx++) {
        two[yy * n + xx] = (Math.abs(yy - 32) < 18 && Math.abs(xx - 32) < 12) ? 2f : -0.8f; // a blob
        two[n * n + yy * n + xx] = (xx / 4) % 2 == 0 ? 2f : -0.8f; // vertical stripes
      }
    }
    try (Graph g = new Graph()) {
      OwnHeadOnExport.Imported rest = OwnHeadOnExport.importFeatures(g, version, "rest");
      OwnHeadOnExport.Head head = OwnHeadOnExport.linearHead(g, rest.stages().get(3), rest.stageChannels().get(3), 2, 0.01f, 0);
      try (Session s = new Session(g); TInt32 y = TInt32.vectorOf(0, 1);
          TFloat32 batch = TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(2, n, n, 1),
              org.tensorflow.ndarray.buffer.DataBuffers.of(two, true, false))) {
        s.initialize();
        rest.restore(s);
        String backboneVar = "rest/" + weights.keySet().stream().filter(k -> k.contains("attn.q.weight")).sorted().findFirst().orElseThrow();
        float[] backboneBefore = fetch(s, backboneVar), headBefore = fetch(s, "my_head_weight");
        float first = 0, last = 0;
        for (int step = 0; step < 60; step++) {
          try (Result r = s.runner().feed(rest.pixelValues(), batch).feed(head.labels(), y).addTarget(head.trainStep())
              .fetch(head.loss()).run()) {
            float loss = ((TFloat32) r.get(0)).getFloat();
            if (step == 0) first = loss;
            last = loss;
          }
        }
        assertTrue(first > 0.5 && last < 0.2 * first, "the head learns the two labels: loss " + first + " -> " + last);
        assertTrue(java.util.Arrays.equals(backboneBefore, fetch(s, backboneVar)), "the imported backbone stays frozen");
        assertTrue(!java.util.Arrays.equals(headBefore, fetch(s, "my_head_weight")), "the head's weights moved");
      }
    }
  }

  private static float[] fetch(Session s, String op) {
    try (Result r = s.runner().fetch(op).run()) {
      return TfTensors.toHost((TFloat32) r.get(0)).toFloats();
    }
  }
}
