package io.resttf.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.analysis.FourierAnalysis;
import io.resttf.analysis.LinearCka;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import io.resttf.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code analyze fourier} and {@code analyze cka} compute what the references do on the same model and
 * batch: the official fourier_analysis.py arithmetic (bench/pytorch/fourier_official.py) on float64
 * branch features, and a float64 linear CKA (bench/pytorch/make_analysis_fixtures.py). Half of the batch is
 * added at a time: the analyses stream.
 */
@Tag("parity")
class AnalysisParityTest {
  static final Path DIR = Path.of("src/test/resources/io/resttf/design/analysis");

  @Test
  void fourierAndCkaMatchTheReferences() {
    RestConfig config = RestConfig.read(DIR.resolve("config.json"));
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(DIR.resolve("weights.pth"), false, null);
    HostTensor x = Layouts.nchwToNhwc(Npy.read(DIR.resolve("input.npy")));
    FourierAnalysis fourier = new FourierAnalysis();
    LinearCka cka = new LinearCka();
    try (RestModel model = RestModel.create(config)) {
      model.load(w.stateDict());
      for (HostTensor half : halves(x)) {
        Map<String, RestModel.BlockBranches> b = model.branches(half);
        fourier.add(b);
        cka.add(b);
      }
    }
    assertEquals(4, fourier.images());
    JsonNode ref = Fixtures.json(DIR.resolve("fourier.json"));
    Map<FourierAnalysis.Branch, Map<String, double[]>> got = fourier.result();
    double worst = 0;
    int series = 0;
    for (FourierAnalysis.Branch br : FourierAnalysis.Branch.values()) {
      JsonNode blocks = ref.get(br.id);
      assertEquals(blocks.size(), got.get(br).size(), br.id + ": blocks");
      for (var it = blocks.fields(); it.hasNext(); ) {
        var e = it.next();
        double[] g = got.get(br).get(e.getKey());
        assertEquals(e.getValue().size(), g.length, br.id + " " + e.getKey() + ": frequencies");
        for (int i = 0; i < g.length; i++) {
          double d = Math.abs(g[i] - e.getValue().get(i).asDouble());
          worst = Math.max(worst, d);
          assertTrue(d <= 1e-4, br.id + " " + e.getKey() + " frequency " + i + ": " + g[i] + " vs " + e.getValue().get(i));
        }
        series++;
      }
    }
    System.out.printf("fourier: %d series, max |difference| %.3g%n", series, worst);
    assertEquals(24, series);
    JsonNode refCka = Fixtures.json(DIR.resolve("cka.json"));
    Map<String, Double> gotCka = cka.result();
    assertEquals(refCka.size(), gotCka.size());
    for (var it = refCka.fields(); it.hasNext(); ) {
      var e = it.next();
      double want = e.getValue().asDouble(), have = gotCka.get(e.getKey());
      assertEquals(want, have, 1e-4 * Math.max(1, Math.abs(want)) + 1e-3 * Math.abs(want), "cka " + e.getKey());
    }
  }

  /** The batch as two batches of half its size. */
  static List<HostTensor> halves(HostTensor x) {
    long[] s = x.shape();
    float[] v = x.toFloats();
    int per = v.length / (int) s[0], half = (int) s[0] / 2;
    List<HostTensor> out = new ArrayList<>();
    for (int p = 0; p < 2; p++) {
      float[] part = java.util.Arrays.copyOfRange(v, p * half * per, (p + 1) * half * per);
      out.add(HostTensor.ofFloats(new long[] {half, s[1], s[2], s[3]}, part));
    }
    return out;
  }
}
