package io.resttf.spark;

import io.resttf.serving.RestSegmenter;
import io.resttf.serving.SavedModelExporter;
import io.resttf.serving.ServingSignatures;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "spark-segment", mixinStandardHelpOptions = true,
    description = {"Segments a set of images on Spark with a segmentation export: one Parquet row per image",
        "(path, width, height, class_areas [index, label, pixels, fraction], mask_file, model_version, error);",
        "with --masks each class map also as a PNG (pixel value = class index) in OUTPUT/_masks/."})
public final class SparkSegmentCommand extends SparkJobCommand {
  /** Masks go here inside the output (Spark's readers skip folders starting with '_'). */
  public static final String MASKS = "_masks";

  @Option(names = "--mode", paramLabel = "MODE", defaultValue = "whole", description = "whole or slide (mmseg's test modes; default ${DEFAULT-VALUE})")
  RestSegmenter.Mode mode;

  @Option(names = "--crop", paramLabel = "S", defaultValue = "512", description = "slide crop side (default ${DEFAULT-VALUE})")
  int crop;

  @Option(names = "--stride", paramLabel = "S", defaultValue = "341", description = "slide stride (default ${DEFAULT-VALUE})")
  int stride;

  @Option(names = "--flip", description = "also segment the mirrored image and average (mmseg's flip test)")
  boolean flip;

  @Option(names = "--masks", description = "write each image's class map as a PNG into OUTPUT/" + MASKS + "/ (named in mask_file)")
  boolean masks;

  @Override
  String verb() {
    return "spark-segment";
  }

  @Override
  SparkOptions options(SparkOptions shared) {
    return shared.withSegmentation(mode, crop, stride, flip);
  }

  @Override
  void checkModel(SparkOptions options) {
    SparkModel.resolve(model, SavedModelExporter.TASK_SEGMENTATION, ServingSignatures.SEGMENT_IMAGES, options.executorModelDir());
  }

  @Override
  Dataset<Row> build(Dataset<Row> images, SparkOptions options, String staging) {
    return RestTfSpark.segment(images, model, masks ? options.withMasksDir(staging + "/" + MASKS) : options);
  }

  @Override
  String done() {
    return "segmented";
  }
}
