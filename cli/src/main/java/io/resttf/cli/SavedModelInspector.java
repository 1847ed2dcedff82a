package io.resttf.cli;

import io.resttf.serving.SavedModelExporter;
import io.resttf.serving.SavedModelIntegrity;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/** {@code inspect DIR}: tags, signatures, inputs and outputs of a SavedModel. */
final class SavedModelInspector {
  private SavedModelInspector() {}

  /** Loads a SavedModel with tag serve after checking it is whole ({@link SavedModelIntegrity}). */
  static SavedModelBundle load(Path versionDir) {
    return SavedModelIntegrity.load(versionDir, () -> SavedModelBundle.load(versionDir.toString(), "serve"));
  }

  /** Prints what a SavedModel version directory holds. */
  static int inspect(Path v, PrintWriter out) {
    try (SavedModelBundle b = load(v)) {
      MetaGraphDef mg = b.metaGraphDef();
      out.println("savedmodel: " + v);
      out.println("tags:       " + mg.getMetaInfoDef().getTagsList());
      // load() refused anything missing or unrestored, so reaching here means the files are whole
      out.println("integrity:  valid (saved_model.pb, variables/ index and data shards readable, every variable restored)");
      for (Map.Entry<String, SignatureDef> e : mg.getSignatureDefMap().entrySet()) {
        out.println("signature " + e.getKey() + " (" + e.getValue().getMethodName() + ")");
        e.getValue().getInputsMap().forEach((n, t) -> out.println("  input   " + n + "  " + describe(t)));
        e.getValue().getOutputsMap().forEach((n, t) -> out.println("  output  " + n + "  " + describe(t)));
      }
      Path meta = v.getParent().resolve(SavedModelExporter.MODEL_JSON);
      if (Files.exists(meta)) out.println("metadata:   " + meta);
    }
    return Main.OK;
  }

  private static String describe(TensorInfo t) {
    StringBuilder s = new StringBuilder(t.getDtype().name().replace("DT_", "").toLowerCase()).append(" [");
    TensorShapeProto shape = t.getTensorShape();
    if (shape.getUnknownRank()) return s.append("?]").toString();
    for (int i = 0; i < shape.getDimCount(); i++) {
      if (i > 0) s.append(", ");
      s.append(shape.getDim(i).getSize());
    }
    return s.append("]").toString();
  }
}
