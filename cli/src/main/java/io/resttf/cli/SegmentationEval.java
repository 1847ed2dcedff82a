package io.resttf.cli;

import io.resttf.serving.RestSegmenter;
import io.resttf.tensor.BadInputException;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * {@code eval} on a segmentation export: every image of the val split of DIR (mmseg's images/val +
 * annotations/val, or val/images + val/annotations), else of DIR/images with DIR/annotations, through the export's own test pipeline (mmseg's whole mode, the class map at the image's
 * size), scored as mmseg does: per-class IoU over the whole split, mIoU over the classes present, pixel
 * accuracy; label 255 ignored.
 */
final class SegmentationEval {
  private SegmentationEval() {}

  static int run(Path model, String data, PrintWriter out) throws IOException {
    Path dir = Path.of(data);
    Path[] val = io.resttf.training.data.SegmentationFolder.split(dir, "val");
    Path images = val != null ? val[0] : dir.resolve("images"), annotations = val != null ? val[1] : dir.resolve("annotations");
    if (!Files.isDirectory(images) || !Files.isDirectory(annotations)) {
      throw new BadInputException(dir + ": no val split (images/val + annotations/val) and no images/ + annotations/ to score");
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(images)) {
      files = s.filter(p -> p.getFileName().toString().matches("(?i).*\\.(png|jpe?g|bmp)$")).sorted().toList();
    }
    if (files.isEmpty()) throw new BadInputException(images + ": no images (.png, .jpg, .bmp)");
    try (RestSegmenter seg = RestSegmenter.open(model)) {
      List<String> labels = seg.labels();
      int k = labels.size();
      long[] inter = new long[k], pred = new long[k], truth = new long[k];
      long correct = 0, valid = 0;
      ProgressBar bar = ProgressBar.items("eval", "img");
      for (int n = 0; n < files.size(); n++) {
        Path f = files.get(n);
        String name = f.getFileName().toString();
        Path a = annotations.resolve(name.substring(0, name.lastIndexOf('.')) + ".png");
        if (!Files.isRegularFile(a)) throw new BadInputException(f + ": no label map " + a);
        BufferedImage ann = ImageIO.read(a.toFile());
        if (ann == null || ann.getRaster().getNumBands() != 1) throw new BadInputException(a + ": not a one-channel PNG label map");
        RestSegmenter.Segmentation r = seg.segment(f, RestSegmenter.Mode.WHOLE, 512, 341, false);
        if (ann.getWidth() != r.width() || ann.getHeight() != r.height()) {
          throw new BadInputException(a + ": " + ann.getWidth() + "x" + ann.getHeight() + ", its image is " + r.width() + "x" + r.height());
        }
        Raster raster = ann.getRaster();
        for (int y = 0; y < r.height(); y++) {
          for (int x = 0; x < r.width(); x++) {
            int label = raster.getSample(x, y, 0);
            if (label == 255) continue;
            if (label >= k) throw new BadInputException(a + ": label " + label + " but the model has " + k + " classes");
            int p = r.classMap()[y * r.width() + x];
            valid++;
            pred[p]++;
            truth[label]++;
            if (p == label) {
              inter[label]++;
              correct++;
            }
          }
        }
        bar.update(n + 1, files.size());
      }
      double sum = 0;
      int present = 0;
      out.printf(Locale.ROOT, "%n%d images of %s through %s%n", files.size(), images, seg.directory());
      for (int j = 0; j < k; j++) {
        long union = pred[j] + truth[j] - inter[j];
        if (union == 0) {
          out.printf(Locale.ROOT, "  %-20s IoU (absent)%n", labels.get(j));
          continue;
        }
        double iou = (double) inter[j] / union;
        sum += iou;
        present++;
        out.printf(Locale.ROOT, "  %-20s IoU %6.2f %%%n", labels.get(j), 100 * iou);
      }
      out.printf(Locale.ROOT, "mIoU %.2f %%, pixel accuracy %.2f %%%n", present == 0 ? 0 : 100 * sum / present,
          valid == 0 ? 0 : 100.0 * correct / valid);
    }
    return Main.OK;
  }
}
