package io.resttf.cli;

import io.resttf.serving.RestSegmenter;
import io.resttf.serving.SegmentationPalette;
import io.resttf.serving.SegmentationPictures;
import io.resttf.tensor.BadInputException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code rest-tf segment}: images through a segmentation export; class maps, overlays with a legend, areas. */
@Command(
    name = "segment",
    mixinStandardHelpOptions = true,
    description = {
      "Segments images with a segmentation export (export --checkpoint on an mmseg ResTv2 + UPerNet checkpoint):",
      "mmseg's test pipeline in the graph, whole or slide mode, optional flip averaging, the result at each image's",
      "own size. Per image: DIR/NAME.classes.png (class index per pixel, 8-bit, 16-bit above 256 classes),",
      "DIR/NAME.overlay.png (the image blended with the class colours, a legend of the classes by area; ADE20K's",
      "names and palette for 150-class models) and a line with the largest classes. A corrupt image gets an error",
      "line; the others still run (exit code 2 when any image failed)."
    })
final class SegmentCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--mode", paramLabel = "MODE", defaultValue = "whole",
      description = "whole (one pass over the image) or slide (crops, overlaps averaged); default ${DEFAULT-VALUE}")
  RestSegmenter.Mode mode;

  @Option(names = "--crop", paramLabel = "S", defaultValue = "512", description = "slide crop side (default ${DEFAULT-VALUE})")
  int crop;

  @Option(names = "--stride", paramLabel = "S", defaultValue = "341", description = "slide stride (default ${DEFAULT-VALUE})")
  int stride;

  @Option(names = "--flip", description = "also segment the mirrored image and average (mmseg's flip test)")
  boolean flip;

  @Option(names = "--top", paramLabel = "K", defaultValue = "5", description = "classes in each image's line (default ${DEFAULT-VALUE})")
  int top;

  @Mixin Outputs.DirOption outDir;

  @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image files (JPEG, PNG, GIF, BMP)")
  List<Path> images;

  @Override
  public Integer call() {
    if (mode == RestSegmenter.Mode.SLIDE) {
      // checked before the model loads: the same rule the slide loop applies
      if (crop < 32 || crop % 32 != 0) throw new BadInputException("--crop " + crop + " must be a multiple of 32 and at least 32");
      if (stride < 1 || stride > crop) throw new BadInputException("--stride " + stride + " must be in 1.." + crop + " (the crop)");
    }
    if (top < 1) throw new BadInputException("--top must be at least 1, got " + top);
    outDir.check();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    int failed = 0;
    Set<String> stems = new HashSet<>();
    try (RestSegmenter s = RestSegmenter.open(model.path())) {
      SegmentationPalette palette = SegmentationPalette.forClasses(s.labels());
      for (Path image : images) {
        try {
          RestSegmenter.Segmentation r = s.segment(image, mode, crop, stride, flip);
          BufferedImage picture = readPicture(image, r);
          String stem = uniqueStem(image, stems);
          Path dir = Files.createDirectories(outDir.dir);
          SegmentationPictures.writeClassMap(dir.resolve(stem + ".classes.png"), r.classMap(), r.width(), r.height(),
              s.labels().size());
          SegmentationPictures.writeOverlay(dir.resolve(stem + ".overlay.png"), picture, r.classMap(), palette,
              SegmentationPictures.DEFAULT_OPACITY);
          out.println(image + " (" + r.width() + "x" + r.height() + "): "
              + SegmentationPictures.summaryLine(SegmentationPictures.largest(r.classMap(), s.labels(), top)));
        } catch (BadInputException | IOException | IllegalArgumentException e) {
          String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
          err.println("rest-tf: " + (m.startsWith(image.toString()) ? m : image + ": " + m).replaceAll("\\s*\\R\\s*", "; "));
          failed++;
        }
      }
    }
    return failed == 0 ? Main.OK : Main.BAD_INPUT;
  }

  /** The image as Java decodes it, for the overlay; its size must be the one the graph decoded. */
  private static BufferedImage readPicture(Path image, RestSegmenter.Segmentation r) throws IOException {
    BufferedImage img = ImageIO.read(image.toFile());
    if (img == null) throw new BadInputException(image + ": Java cannot decode this image to draw the overlay");
    if (img.getWidth() != r.width() || img.getHeight() != r.height()) {
      throw new BadInputException(image + ": decoded as " + img.getWidth() + "x" + img.getHeight() + " here but "
          + r.width() + "x" + r.height() + " by the model");
    }
    return img;
  }

  /** File name without extension, made unique among this run's outputs (a.jpg and a.png → a, a-2). */
  private static String uniqueStem(Path image, Set<String> used) {
    String name = image.getFileName().toString();
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String s = stem;
    for (int i = 2; !used.add(s); i++) s = stem + "-" + i;
    return s;
  }
}
