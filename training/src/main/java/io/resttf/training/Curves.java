package io.resttf.training;

import io.resttf.util.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * curves.png: training loss (per step, with a running mean) and validation loss; accuracy (training per
 * epoch, validation top-1 of the model and of its EMA); learning rate — all against steps. Drawn
 * headless with Java2D, written atomically (temporary file, then rename).
 */
public final class Curves {
  static {
    if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
  }

  /** A named series of (step, value) points, drawn as a line (and dots at the points if {@code dots}). */
  public record Series(String name, Color color, List<double[]> points, boolean dots) {}

  private static final int W = 900, PANEL_H = 260, MARGIN_L = 70, MARGIN_R = 20, MARGIN_T = 28, MARGIN_B = 30;

  private Curves() {}

  /** Draws the three panels from what the run logged and writes {@code file} atomically. */
  public static void write(Path file, String title, List<Series> loss, List<Series> accuracy, List<Series> lr) {
    BufferedImage img = new BufferedImage(W, 3 * PANEL_H + 30, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, img.getWidth(), img.getHeight());
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
      g.drawString(title, MARGIN_L, 20);
      // one step axis for all panels: 0 .. the last step logged
      double maxX = 1;
      for (List<Series> l : List.of(loss, accuracy, lr)) {
        for (Series s : l) for (double[] p : s.points()) if (Double.isFinite(p[0])) maxX = Math.max(maxX, p[0]);
      }
      panel(g, 30, "loss", loss, false, maxX);
      panel(g, 30 + PANEL_H, "accuracy", accuracy, false, maxX);
      panel(g, 30 + 2 * PANEL_H, "learning rate", lr, true, maxX);
    } finally {
      g.dispose();
    }
    try {
      AtomicFiles.write(file, ch -> {
        if (!ImageIO.write(img, "png", Channels.newOutputStream(ch))) throw new IOException("no PNG writer");
      });
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write (" + e.getMessage() + ")", e);
    }
  }

  private static void panel(Graphics2D g, int top, String label, List<Series> series, boolean scientific, double maxX) {
    int x0 = MARGIN_L, x1 = W - MARGIN_R, y0 = top + MARGIN_T, y1 = top + PANEL_H - MARGIN_B;
    double minX = 0;
    double minY = Double.POSITIVE_INFINITY, maxY = Double.NEGATIVE_INFINITY;
    boolean any = false;
    for (Series s : series) {
      for (double[] p : s.points()) {
        if (!Double.isFinite(p[1])) continue;
        any = true;
        minY = Math.min(minY, p[1]);
        maxY = Math.max(maxY, p[1]);
      }
    }
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.drawString(label, x0, top + 18);
    g.setColor(Color.GRAY);
    g.drawRect(x0, y0, x1 - x0, y1 - y0);
    if (!any) {
      g.drawString("(no data yet)", x0 + 10, y0 + 20);
      return;
    }
    if (maxY == minY) {
      maxY += Math.abs(maxY) * 0.05 + 1e-12;
      minY -= Math.abs(minY) * 0.05 + 1e-12;
    }
    boolean nonNegative = minY >= 0;
    double pad = (maxY - minY) * 0.05;
    minY -= pad;
    maxY += pad;
    if (nonNegative) minY = Math.max(0, minY);
    // grid and labels
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
    for (int i = 0; i <= 4; i++) {
      double v = minY + (maxY - minY) * i / 4;
      int y = (int) Math.round(y1 - (y1 - y0) * (double) i / 4);
      g.setColor(new Color(235, 235, 235));
      g.drawLine(x0 + 1, y, x1 - 1, y);
      g.setColor(Color.DARK_GRAY);
      String s = scientific ? String.format(Locale.ROOT, "%.1e", v) : String.format(Locale.ROOT, "%.3f", v);
      g.drawString(s, 4, y + 4);
    }
    for (int i = 0; i <= 5; i++) {
      double v = minX + (maxX - minX) * i / 5;
      int x = (int) Math.round(x0 + (x1 - x0) * (double) i / 5);
      g.setColor(Color.DARK_GRAY);
      g.drawString(String.format(Locale.ROOT, "%.0f", v), x - 10, y1 + 14);
    }
    g.drawString("step", x1 - 28, y1 + 26);
    int legendX = x0 + 10;
    for (Series s : series) {
      g.setColor(s.color());
      List<double[]> pts = new ArrayList<>();
      for (double[] p : s.points()) if (Double.isFinite(p[1])) pts.add(p);
      if (s.dots() || pts.size() == 1) {
        for (double[] p : pts) {
          int x = sx(p[0], minX, maxX, x0, x1), y = sy(p[1], minY, maxY, y0, y1);
          g.fillOval(x - 3, y - 3, 7, 7);
        }
      }
      if (pts.size() > 1) {
        Path2D.Double path = new Path2D.Double();
        path.moveTo(sx(pts.get(0)[0], minX, maxX, x0, x1), sy(pts.get(0)[1], minY, maxY, y0, y1));
        for (double[] p : pts) path.lineTo(sx(p[0], minX, maxX, x0, x1), sy(p[1], minY, maxY, y0, y1));
        g.setStroke(new BasicStroke(1.3f));
        g.draw(path);
      }
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      g.fillRect(legendX, y0 + 8, 10, 10);
      g.setColor(Color.BLACK);
      g.drawString(s.name(), legendX + 14, y0 + 17);
      legendX += 20 + g.getFontMetrics().stringWidth(s.name()) + 12;
    }
  }

  private static int sx(double v, double lo, double hi, int a, int b) {
    return (int) Math.round(a + (b - a) * (v - lo) / (hi - lo));
  }

  private static int sy(double v, double lo, double hi, int a, int b) {
    return (int) Math.round(b - (b - a) * (v - lo) / (hi - lo));
  }
}
