package io.resttf.serving;

import io.resttf.model.Preprocessing;
import io.resttf.model.RestConfig;
import io.resttf.tensor.BadInputException;
import io.resttf.util.ImageHeader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What an export records beside the graph. Every field may be null: {@link #resolve} fills the
 * defaults (ImageNet-1k short names for 1000-class models, {@code class_<i>} otherwise; the official
 * ImageNet evaluation preprocessing).
 *
 * @param variant        released variant name (e.g. "restv2_tiny"), if known
 * @param sourcePath     the checkpoint the weights came from, as given
 * @param sourceSha256   SHA-256 of that file, 64 lowercase hex digits
 * @param labels         class names in head order; exactly num_classes of them
 * @param preprocessing  evaluation preprocessing of classify_images
 * @param maxPixels      the largest image (width × height, read from its header) that classify_images and
 *                       preprocess_images decode; default {@link ImageHeader#DEFAULT_MAX_PIXELS}
 */
public record ExportMetadata(
    String variant, String sourcePath, String sourceSha256, List<String> labels, Preprocessing preprocessing,
    Long maxPixels) {

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  public ExportMetadata {
    labels = labels == null ? null : List.copyOf(labels);
  }

  /** Nothing known: every default. */
  public static ExportMetadata defaults() {
    return new ExportMetadata(null, null, null, null, null, null);
  }

  /** The weights came from {@code checkpoint}; its SHA-256 is computed here. */
  public static ExportMetadata forCheckpoint(Path checkpoint) {
    return new ExportMetadata(null, checkpoint.toString(), sha256(checkpoint), null, null, null);
  }

  public ExportMetadata withVariant(String v) {
    return new ExportMetadata(v, sourcePath, sourceSha256, labels, preprocessing, maxPixels);
  }

  public ExportMetadata withSource(String path, String sha256) {
    return new ExportMetadata(variant, path, sha256, labels, preprocessing, maxPixels);
  }

  public ExportMetadata withLabels(List<String> l) {
    return new ExportMetadata(variant, sourcePath, sourceSha256, l, preprocessing, maxPixels);
  }

  public ExportMetadata withPreprocessing(Preprocessing p) {
    return new ExportMetadata(variant, sourcePath, sourceSha256, labels, p, maxPixels);
  }

  public ExportMetadata withMaxPixels(long m) {
    return new ExportMetadata(variant, sourcePath, sourceSha256, labels, preprocessing, m);
  }

  /** Defaults filled in and everything checked against {@code config}; {@link BadInputException} otherwise. */
  public ExportMetadata resolve(RestConfig config) {
    int n = config.numClasses();
    List<String> l = labels;
    if (l == null) {
      if (n == ImageNetLabels.NUM_CLASSES) {
        l = ImageNetLabels.shortNames();
      } else {
        l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add("class_" + i);
      }
    } else {
      if (l.size() != n) {
        throw new BadInputException("labels: " + l.size() + " given but the model has " + n + " classes");
      }
      for (int i = 0; i < l.size(); i++) {
        String s = l.get(i);
        if (s == null || s.isBlank() || s.contains("\n") || s.contains("\r")) {
          throw new BadInputException("labels: entry " + i + " must be a non-blank single-line string, got \"" + s + "\"");
        }
      }
    }
    Preprocessing p = preprocessing != null ? preprocessing : Preprocessing.imagenet(config.inChans());
    p.validate(config);
    if (sourceSha256 != null && !SHA256.matcher(sourceSha256).matches()) {
      throw new BadInputException("source SHA-256 must be 64 lowercase hex digits, got \"" + sourceSha256 + "\"");
    }
    if (variant != null && !variant.matches("[A-Za-z0-9_.-]+")) {
      throw new BadInputException("variant name \"" + variant + "\" must match [A-Za-z0-9_.-]+");
    }
    long mp = maxPixels == null ? ImageHeader.DEFAULT_MAX_PIXELS : ImageHeader.requireValidLimit(maxPixels);
    return new ExportMetadata(variant, sourcePath, sourceSha256, l, p, mp);
  }

  /** SHA-256 of a file as lowercase hex. */
  public static String sha256(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      int r;
      while ((r = in.read(buf)) > 0) md.update(buf, 0, r);
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchFileException e) {
      throw new BadInputException(file + ": no such file");
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")", e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
