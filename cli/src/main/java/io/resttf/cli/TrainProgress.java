package io.resttf.cli;

import io.resttf.training.Trainer;
import io.resttf.training.TrainingListener;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Draws a training run for {@code rest-tf train}: per epoch a bar with loss, learning rate, images/s
 * and ETA on stderr (redrawn in place on a terminal, a line every few seconds in logs), an evaluation
 * bar, one summary line per epoch and evaluation on stdout, warnings (undecodable images) on the
 * command's error stream.
 */
final class TrainProgress implements TrainingListener {
  private final PrintWriter out;
  private final PrintWriter warn;
  private final PrintStream err;
  private final boolean tty;
  private long lastDraw;
  private boolean drawn;
  private long epochStart;
  private int epochFirstStep;
  private double lossEma = Double.NaN;

  TrainProgress(PrintWriter out, PrintWriter warn, PrintStream err) {
    this.out = out;
    this.warn = warn;
    this.err = err;
    this.tty = System.console() != null;
  }

  @Override
  public void onStart(Trainer.Plan p) {
    out.printf(Locale.ROOT, "run: %s%n", p.runDir());
    out.printf(Locale.ROOT, "model: %s %s depths %s, %d classes, %,d trainable parameters%s%n", p.config().family(),
        p.config().embedDims(), p.config().depths(), p.config().numClasses(), p.trainableParameters(),
        p.frozenTensors() > 0 ? " (" + p.frozenTensors() + " frozen tensors)" : "");
    out.printf(Locale.ROOT, "data: %s; %d training images, %d validation images%n", p.dataLayout(), p.trainImages(), p.valImages());
    out.printf(Locale.ROOT, "%d epochs × %d steps of %d%s%s%n", p.epochs(), p.stepsPerEpoch(), p.batch(),
        p.dropPath() > 0 ? String.format(Locale.ROOT, ", drop path %.3g", p.dropPath()) : "",
        p.resumed() ? ", resuming at step " + p.startStep() : "");
    if (!p.javaGradients().isEmpty()) out.println("gradients registered from Java: " + String.join(", ", p.javaGradients()));
    out.flush();
  }

  @Override
  public void onEpochStart(int epoch, int epochs, int stepsPerEpoch, int firstStepInEpoch) {
    epochStart = System.nanoTime();
    epochFirstStep = firstStepInEpoch;
    lossEma = Double.NaN;
    drawn = false;
    lastDraw = 0;
  }

  @Override
  public void onStep(StepEvent e) {
    lossEma = Double.isNaN(lossEma) ? e.loss() : 0.9 * lossEma + 0.1 * e.loss();
    long now = System.nanoTime();
    boolean last = e.stepInEpoch() == e.stepsPerEpoch();
    long interval = tty ? 100_000_000L : 10_000_000_000L;
    if (!last && now - lastDraw < interval) return;
    lastDraw = now;
    double secs = (now - epochStart) / 1e9;
    int done = e.stepInEpoch() - epochFirstStep + 1;
    double perStep = secs / Math.max(1, done);
    double eta = perStep * (e.stepsPerEpoch() - e.stepInEpoch());
    double frac = (double) e.stepInEpoch() / e.stepsPerEpoch();
    String line = String.format(Locale.ROOT, "epoch %d/%d %s %d/%d loss %.4f lr %.2e %.0f img/s ETA %s",
        e.epoch(), e.epochs(), ProgressBar.gauge(frac, 25), e.stepInEpoch(),
        e.stepsPerEpoch(), lossEma, e.lr(), e.imagesPerSecond(), ProgressBar.formatSeconds(eta));
    draw(line, last);
  }

  @Override
  public void onEvalProgress(String what, long done, long total) {
    long now = System.nanoTime();
    boolean last = done >= total;
    if (!tty) return;
    if (!last && now - lastDraw < 100_000_000L) return;
    lastDraw = now;
    double frac = total == 0 ? 1 : (double) done / total;
    draw(String.format(Locale.ROOT, "eval %s %s %d/%d images", what, ProgressBar.gauge(frac, 25), done, total), last);
  }

  private void draw(String line, boolean finalLine) {
    if (tty) {
      err.print("\r" + line + "\u001b[K" + (finalLine ? "\n" : ""));
      drawn = !finalLine;
    } else {
      err.println(line);
    }
    err.flush();
  }

  private void endLine() {
    if (drawn && tty) {
      err.println();
      drawn = false;
    }
  }

  @Override
  public void onEvaluated(EvalEvent e) {
    endLine();
    out.printf(Locale.ROOT, "  %s %s: val loss %.4f, top-1 %.2f %%, top-5 %.2f %% (%d images)%n",
        e.weights().equals("ema") ? "EMA weights" : "model", e.epoch() == 0 ? "before training" : "after epoch " + e.epoch(),
        e.loss(), 100 * e.top1(), 100 * e.top5(), e.images());
    out.flush();
  }

  @Override
  public void onEpochEnd(EpochEvent e) {
    endLine();
    out.printf(Locale.ROOT, "epoch %d/%d: train loss %.4f, train top-1 %.2f %%, %.1f s, %.0f img/s%s%n", e.epoch(),
        e.epochs(), e.trainLoss(), 100 * e.trainTop1(), e.seconds(), e.imagesPerSecond(),
        e.decodeErrors() > 0 ? ", " + e.decodeErrors() + " images could not be decoded" : "");
    out.flush();
  }

  @Override
  public void onCheckpoint(Path dir, long step) {
    // quiet: a checkpoint per epoch is the normal case
  }

  @Override
  public void onWarning(String message) {
    endLine();
    warn.println("rest-tf: warning: " + message);
    warn.flush();
  }

  @Override
  public void onExport(Path dir) {
    endLine();
    out.println("exported: " + dir);
    out.flush();
  }
}
