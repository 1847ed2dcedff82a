package io.resttf.training;

import io.resttf.util.AtomicFiles;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * curves.png: training loss (per step, with a running mean) and validation loss; accuracy (training per
 * epoch, validation top-1 of the model and of its EMA); learning rate — three charts against steps, with
 * labelled axes and legends (XChart, headless), written atomically (temporary file, then rename).
 */
public final class Curves {
  static {
    if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
  }

  /** A named series of (step, value) points, drawn as a line (with dots at the points if {@code dots}). */
  public record Series(String name, Color color, List<double[]> points, boolean dots) {}

  static final int WIDTH = 900, PANEL_HEIGHT = 280;

  private Curves() {}

  /** Draws the three charts from what the run logged and writes {@code file} atomically. */
  public static void write(Path file, String title, List<Series> loss, List<Series> accuracy, List<Series> lr) {
    // one step axis for all charts: 0 .. the last step logged
    double maxX = 1;
    for (List<Series> l : List.of(loss, accuracy, lr)) {
      for (Series s : l) for (double[] p : s.points()) if (Double.isFinite(p[0])) maxX = Math.max(maxX, p[0]);
    }
    List<XYChart> charts = List.of(chart(title, "loss", loss, maxX, "0.000"), chart(null, "accuracy", accuracy, maxX, "0.000"),
        chart(null, "learning rate", lr, maxX, "0.00"));
    try {
      // the stream is not closed here: AtomicFiles syncs and closes the channel after this returns
      AtomicFiles.write(file, ch -> {
        OutputStream o = Channels.newOutputStream(ch);
        BitmapEncoder.saveBitmap(charts, charts.size(), 1, o, BitmapEncoder.BitmapFormat.PNG);
        o.flush();
      });
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write (" + e.getMessage() + ")", e);
    }
  }

  private static XYChart chart(String title, String yTitle, List<Series> series, double maxX, String yPattern) {
    // values far below 1 (learning rates) in units of their power of ten: XChart puts the ticks of values
    // less than 1e-4 apart at data points, not at round numbers
    double maxY = 0;
    for (Series s : series) for (double[] p : s.points()) if (Double.isFinite(p[1])) maxY = Math.max(maxY, Math.abs(p[1]));
    int exponent = maxY > 0 && maxY < 0.1 ? (int) Math.floor(Math.log10(maxY)) : 0;
    double unit = Math.pow(10, exponent);
    XYChart c = new XYChart(WIDTH, PANEL_HEIGHT);
    c.setTitle(title == null ? "" : title);
    c.setXAxisTitle("step");
    if (exponent != 0) yTitle += " (×1e" + exponent + ")";
    c.setYAxisTitle(yTitle);
    XYStyler st = c.getStyler();
    st.setChartTitleVisible(title != null);
    st.setLegendPosition(Styler.LegendPosition.InsideNE);
    st.setXAxisMin(0.0);
    st.setXAxisMax(maxX);
    st.setXAxisDecimalPattern("0");
    if (yPattern != null) st.setYAxisDecimalPattern(yPattern);
    st.setXAxisTickMarkSpacingHint(90);
    st.setChartBackgroundColor(Color.WHITE);
    st.setPlotBackgroundColor(Color.WHITE);
    boolean any = false;
    for (Series s : series) {
      List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
      for (double[] p : s.points()) {
        if (!Double.isFinite(p[0]) || !Double.isFinite(p[1])) continue;
        xs.add(p[0]);
        ys.add(p[1] / unit);
      }
      if (xs.isEmpty()) continue;
      any = true;
      XYSeries x = c.addSeries(s.name(), xs, ys);
      x.setLineColor(s.color());
      x.setMarkerColor(s.color());
      boolean dots = s.dots() || xs.size() == 1;
      x.setMarker(dots ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    }
    if (!any) {
      c.setYAxisTitle(yTitle + " (no data yet)");
      st.setYAxisMin(0.0);
      st.setYAxisMax(1.0);
    }
    return c;
  }
}
