package io.resttf.examples;

import io.resttf.convert.Conversion;
import io.resttf.model.RestModel;
import io.resttf.serving.ExportMetadata;
import io.resttf.serving.RestClassifier;
import io.resttf.serving.SavedModelExporter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * From an official PyTorch checkpoint to predictions, in Java only:
 * read the .pth (config detected from the weights) → export a SavedModel for TF Serving → open it with
 * the inference API → classify images.
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.resttf.examples.ConvertAndServe \
 *     -Dexec.args="restv2_tiny_224.pth savedmodels cat.jpg dog.png"
 * </pre>
 * or, after {@code ci/build}:
 * {@code java -cp "examples/target/rest-tf-examples-0.1.0-SNAPSHOT.jar:cli/target/lib/*" io.resttf.examples.ConvertAndServe ...}
 */
public final class ConvertAndServe {
  private ConvertAndServe() {}

  public static void main(String[] args) {
    if (args.length < 3) {
      System.err.println("usage: ConvertAndServe CHECKPOINT.pth BASE_DIR IMAGE...");
      System.exit(2);
    }
    Path checkpoint = Path.of(args[0]);
    Path base = Path.of(args[1]);

    // 1. Read the official checkpoint; the config is detected from the weights (pass one to be explicit).
    Conversion conversion = Conversion.load(Conversion.Request.of(checkpoint, null), null);
    SavedModelExporter.Result exported;
    try (RestModel model = conversion.model()) {
      System.out.println("model: " + (conversion.detection() != null ? conversion.detection().describe() : "given config"));
      // 2. Export: BASE/NAME/VERSION, atomically, plus models.config for TF Serving.
      exported = new SavedModelExporter(base).export("example", model.config(), conversion.weights().stateDict(),
          ExportMetadata.forCheckpoint(checkpoint));
    }
    System.out.println("exported: " + exported.versionDir());

    // 3. Classify with the SavedModel's own in-graph preprocessing. The classifier is thread-safe: share it.
    List<RestClassifier.ImageInput> images = new ArrayList<>();
    for (int i = 2; i < args.length; i++) images.add(RestClassifier.ImageInput.of(Path.of(args[i])));
    try (RestClassifier classifier = RestClassifier.open(exported.versionDir())) {
      for (RestClassifier.ImageResult r : classifier.classifyEach(images)) {
        if (!r.ok()) {
          System.out.println(r.image() + ": " + r.error());
          continue;
        }
        StringBuilder line = new StringBuilder(r.image()).append(':');
        for (RestClassifier.Prediction p : r.classification().top()) {
          line.append(String.format("  %s %.3f", p.label(), p.probability()));
        }
        System.out.println(line);
      }
    }
  }
}
