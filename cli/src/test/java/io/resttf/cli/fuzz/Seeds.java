package io.resttf.cli.fuzz;

import io.resttf.cli.Main;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.Fixtures;
import io.resttf.testing.TestImages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;

/**
 * The valid inputs every fuzz case mutates, made once per work directory: the tiny parity configs and
 * weights (restv2_tiny-narrow, rest_lite-narrow), small images in each format, valid {@code .npy} inputs,
 * and a SavedModel and a {@code convert} output exported from the tiny weights through the CLI itself.
 */
final class Seeds {
  final Path dir;

  Seeds(Path dir) {
    this.dir = dir;
  }

  Path v2Config() { return dir.resolve("v2-config.json"); }
  Path v1Config() { return dir.resolve("v1-config.json"); }
  Path safetensors() { return dir.resolve("weights.safetensors"); }
  Path pth() { return dir.resolve("weights.pth"); }
  Path v1Pth() { return dir.resolve("v1-weights.pth"); }
  Path nhwc() { return dir.resolve("x-nhwc.npy"); }
  Path nchw() { return dir.resolve("x-nchw.npy"); }
  Path image(String format) { return dir.resolve("image." + format); }
  Path bomb() { return dir.resolve("bomb-20000.png"); }
  /** The model directory (NAME/ holding model.json and version 1/). */
  Path model() { return dir.resolve("models/tiny"); }
  Path version() { return model().resolve("1"); }
  Path converted() { return dir.resolve("converted"); }
  /** An image folder, two classes of four PNGs. */
  Path folder() { return dir.resolve("folder"); }

  static final String[] FORMATS = {"png", "jpg", "gif", "bmp"};

  /** Makes the seeds unless an earlier worker did (marker file {@code ready}). */
  Seeds prepare() {
    if (Files.exists(dir.resolve("ready"))) return this;
    try {
      Files.createDirectories(dir);
      Path v2 = Fixtures.parity("restv2_tiny-narrow"), v1 = Fixtures.parity("rest_lite-narrow");
      Files.copy(v2.resolve("config.json"), v2Config(), StandardCopyOption.REPLACE_EXISTING);
      Files.copy(v1.resolve("config.json"), v1Config(), StandardCopyOption.REPLACE_EXISTING);
      Files.copy(v2.resolve("weights.safetensors"), safetensors(), StandardCopyOption.REPLACE_EXISTING);
      Files.copy(v2.resolve("weights.pth"), pth(), StandardCopyOption.REPLACE_EXISTING);
      Files.copy(v1.resolve("weights.pth"), v1Pth(), StandardCopyOption.REPLACE_EXISTING);
      Random r = new Random(1);
      float[] x = new float[32 * 32 * 3];
      for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
      Npy.write(nhwc(), HostTensor.ofFloats(new long[] {1, 32, 32, 3}, x));
      Npy.write(nchw(), HostTensor.ofFloats(new long[] {1, 3, 32, 32}, x));
      for (String f : FORMATS) Files.write(image(f), TestImages.encoded(f, 40, 36));
      Files.write(bomb(), TestImages.bigPng(20000, 20000));
      for (String c : new String[] {"a", "b"}) {
        Files.createDirectories(folder().resolve(c));
        for (int i = 0; i < 4; i++) Files.write(folder().resolve(c).resolve(i + ".png"), TestImages.encoded("png", 24 + i, 20));
      }
      cli("export", "--checkpoint", safetensors().toString(), "--name", "tiny", "--base", dir.resolve("models").toString(),
          "--image-size", "32");
      cli("convert", "--checkpoint", safetensors().toString(), "--out", converted().toString());
      Files.writeString(dir.resolve("ready"), "ok\n");
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void cli(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    if (code != 0) {
      throw new IllegalStateException("seed command failed (" + code + "): " + String.join(" ", args) + ": "
          + err.toString(StandardCharsets.UTF_8));
    }
  }
}
