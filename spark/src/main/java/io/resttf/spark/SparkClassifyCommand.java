package io.resttf.spark;

import io.resttf.serving.SavedModelExporter;
import io.resttf.serving.ServingSignatures;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "spark-classify", mixinStandardHelpOptions = true,
    description = {"Classifies a set of images on Spark with a classification export: one Parquet row per image",
        "(path, label, probability, top_labels, top_probabilities, top_indices, model_version, error)."})
public final class SparkClassifyCommand extends SparkJobCommand {
  @Option(names = "--top", paramLabel = "K", defaultValue = "5", description = "classes per image (default ${DEFAULT-VALUE})")
  int top;

  @Override
  String verb() {
    return "spark-classify";
  }

  @Override
  SparkOptions options(SparkOptions shared) {
    return shared.withTopK(top);
  }

  @Override
  void checkModel(SparkOptions options) {
    SparkModel.resolve(model, SavedModelExporter.TASK_CLASSIFICATION, ServingSignatures.CLASSIFY_IMAGES, options.executorModelDir());
  }

  @Override
  Dataset<Row> build(Dataset<Row> images, SparkOptions options, String staging) {
    return RestTfSpark.classify(images, model, options);
  }

  @Override
  String done() {
    return "classified";
  }
}
