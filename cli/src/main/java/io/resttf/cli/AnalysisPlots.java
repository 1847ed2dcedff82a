package io.resttf.cli;

import io.resttf.analysis.FourierAnalysis;
import io.resttf.util.AtomicFiles;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The analyses' pictures (XChart, headless), written atomically: the Fourier panels as the ResTv2 paper's
 * Figure 3 draws them (one line per block, coloured from dark (first block) to light (last) with matplotlib's
 * plasma map, relative log amplitude against frequency 0..π) and the CKA per block as bars.
 */
final class AnalysisPlots {
  static {
    if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
  }

  static final int PANEL_WIDTH = 420, HEIGHT = 400;

  private AnalysisPlots() {}

  /** What was drawn: the image size and the number of line series per panel. */
  record Drawn(int width, int height, List<Integer> seriesPerPanel) {}

  /** One panel per branch present (attention, upsample, sum), side by side. */
  static Drawn fourier(Path file, String title, Map<FourierAnalysis.Branch, Map<String, double[]>> result) {
    List<XYChart> panels = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    for (Map.Entry<FourierAnalysis.Branch, Map<String, double[]>> e : result.entrySet()) {
      XYChart c = new XYChart(PANEL_WIDTH, HEIGHT);
      c.setTitle(title + ": " + switch (e.getKey()) {
        case ATTENTION -> "attention branch";
        case UPSAMPLE -> "upsample branch";
        case SUM -> "sum";
      });
      c.setXAxisTitle("frequency (×π)");
      c.setYAxisTitle("Δ log amplitude");
      var st = c.getStyler();
      st.setLegendVisible(e.getValue().size() <= 12);
      st.setLegendPosition(Styler.LegendPosition.InsideSW);
      st.setChartBackgroundColor(Color.WHITE);
      st.setPlotBackgroundColor(Color.WHITE);
      st.setXAxisMin(0.0);
      st.setXAxisMax(1.0);
      st.setXAxisDecimalPattern("0.0");
      st.setYAxisDecimalPattern("0.0");
      int n = e.getValue().size(), i = 0;
      for (Map.Entry<String, double[]> block : e.getValue().entrySet()) {
        double[] y = block.getValue();
        double[] x = new double[y.length];
        for (int k = 0; k < y.length; k++) x[k] = y.length == 1 ? 0 : (double) k / (y.length - 1);
        XYSeries s = c.addSeries(block.getKey(), x, y);
        Color col = plasma(n == 1 ? 0 : 0.85 * i / (n - 1));
        s.setLineColor(col);
        s.setMarkerColor(col);
        s.setMarker(SeriesMarkers.NONE);
        i++;
      }
      panels.add(c);
      counts.add(n);
    }
    write(file, panels);
    return new Drawn(PANEL_WIDTH * panels.size(), HEIGHT, counts);
  }

  /** CKA(attention, upsample) per block as bars. */
  static Drawn cka(Path file, String title, Map<String, Double> cka) {
    CategoryChart c = new CategoryChart(Math.max(PANEL_WIDTH, 60 * cka.size() + 120), HEIGHT);
    c.setTitle(title + ": linear CKA, attention vs upsample branch");
    c.setXAxisTitle("block");
    c.setYAxisTitle("CKA");
    var st = c.getStyler();
    st.setLegendVisible(false);
    st.setChartBackgroundColor(Color.WHITE);
    st.setPlotBackgroundColor(Color.WHITE);
    st.setYAxisMin(0.0);
    st.setYAxisMax(1.0);
    st.setYAxisDecimalPattern("0.0");
    c.addSeries("cka", new ArrayList<>(cka.keySet()), new ArrayList<>(cka.values())).setFillColor(plasma(0.2));
    write(file, List.of(c));
    return new Drawn(c.getWidth(), HEIGHT, List.of(1));
  }

  private static void write(Path file, List<? extends Chart<?, ?>> charts) {
    try {
      AtomicFiles.write(file, ch -> {
        OutputStream o = Channels.newOutputStream(ch);
        BitmapEncoder.saveBitmap(charts, 1, charts.size(), o, BitmapEncoder.BitmapFormat.PNG);
        o.flush();
      });
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write (" + e.getMessage() + ")", e);
    }
  }

  /** matplotlib's plasma colour map at t in [0, 1] (linear between five of its stops). */
  static Color plasma(double t) {
    double[][] stops = {{13, 8, 135}, {126, 3, 168}, {204, 71, 120}, {248, 149, 64}, {240, 249, 33}};
    double p = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    int i = Math.min((int) p, stops.length - 2);
    double f = p - i;
    int[] rgb = new int[3];
    for (int k = 0; k < 3; k++) rgb[k] = (int) Math.round(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
    return new Color(rgb[0], rgb[1], rgb[2]);
  }
}
