package io.resttf.spark;

import io.resttf.serving.SavedModelExporter;
import io.resttf.serving.ServingSignatures;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "spark-embed", mixinStandardHelpOptions = true,
    description = {"Embeds a set of images on Spark with a classification export: one Parquet row per image with",
        "stage 4's feature map averaged over the image (embedding: float array; with --multi-scale also",
        "embedding_stage1..3), model_version, error."})
public final class SparkEmbedCommand extends SparkJobCommand {
  @Option(names = "--multi-scale", description = "also the pooled feature maps of stages 1-3")
  boolean multiScale;

  @Override
  String verb() {
    return "spark-embed";
  }

  @Override
  SparkOptions options(SparkOptions shared) {
    return shared.withMultiScale(multiScale);
  }

  @Override
  void checkModel(SparkOptions options) {
    SparkModel.resolve(model, SavedModelExporter.TASK_CLASSIFICATION, ServingSignatures.FEATURES, options.executorModelDir());
  }

  @Override
  Dataset<Row> build(Dataset<Row> images, SparkOptions options, String staging) {
    return RestTfSpark.embed(images, model, options);
  }

  @Override
  String done() {
    return "embedded";
  }
}
