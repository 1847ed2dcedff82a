package io.resttf.serving;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.tensorflow.TensorFlow;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.AssetFileDef;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.FunctionDefLibrary;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.OpList;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Brings the {@code saved_model.pb} that TF Java's exporter writes to what TF Python's SavedModel builder
 * writes with {@code strip_default_attrs=True}, so that older TensorFlow runtimes (and TF Serving builds of
 * them) load it:
 *
 * <ul>
 *   <li>attributes equal to their op's registered default are removed (a runtime that predates an attribute
 *       refuses a node carrying it, e.g. TF 2.10 and {@code TensorListSetItem.resize_if_index_out_of_bounds});
 *       loaders put the defaults back;
 *   <li>{@code BatchMatMulV3} with one dtype everywhere becomes {@code BatchMatMulV2}: the same kernel, an op
 *       older runtimes know (V3 only adds mixed input / output dtypes);
 *   <li>{@code meta_info_def} gets the TensorFlow version, {@code stripped_op_list} (the OpDefs used, as
 *       registered) and {@code stripped_default_attrs};
 *   <li>files under {@code assets/} are registered as {@code asset_file_def}s, each bound to a string
 *       constant of the graph that the loader feeds with the file's absolute path.
 * </ul>
 */
final class MetaGraphFinisher {
  private MetaGraphFinisher() {}

  /** Name prefix of the string constants that carry asset paths. */
  static final String ASSET_PATH_PREFIX = "asset_path_";

  /**
   * Adds the string constant the loader feeds with {@code assets/fileName}'s path (as TF Python's
   * {@code tf.compat.v1.saved_model} assets); returns its tensor name.
   */
  static String assetPathConstant(Ops tf, String fileName) {
    String op = ASSET_PATH_PREFIX + fileName.replaceAll("[^A-Za-z0-9_]", "_");
    return tf.withName(op).constant(fileName).asOutput().name();
  }

  /** The path constants of every export's assets ({@code labels.txt}, {@code rest_tf.json}): file name → tensor name. */
  static Map<String, String> exportAssets(Ops tf) {
    return Map.of(
        SavedModelExporter.LABELS_ASSET, assetPathConstant(tf, SavedModelExporter.LABELS_ASSET),
        SavedModelExporter.METADATA_ASSET, assetPathConstant(tf, SavedModelExporter.METADATA_ASSET));
  }

  private static volatile Map<String, OpDef> registry;

  /** The OpDefs registered in this runtime, by name. */
  static Map<String, OpDef> registeredOps() {
    Map<String, OpDef> r = registry;
    if (r == null) {
      Map<String, OpDef> m = new HashMap<>();
      for (OpDef d : TensorFlow.registeredOpList().getOpList()) m.put(d.getName(), d);
      registry = r = Map.copyOf(m);
    }
    return r;
  }

  /**
   * Rewrites {@code dir/saved_model.pb} in place (the caller writes into a staging directory).
   *
   * @param assets file name under {@code assets/} → the tensor name of its path constant
   */
  static void finish(Path dir, Map<String, String> assets) throws IOException {
    Path pb = dir.resolve("saved_model.pb");
    SavedModel.Builder sm = SavedModel.parseFrom(Files.readAllBytes(pb)).toBuilder();
    Map<String, OpDef> ops = registeredOps();
    for (MetaGraphDef.Builder mg : sm.getMetaGraphsBuilderList()) {
      GraphDef.Builder graph = mg.getGraphDefBuilder();
      Set<String> functions = new TreeSet<>();
      for (FunctionDef f : graph.getLibrary().getFunctionList()) functions.add(f.getSignature().getName());
      Set<String> used = new TreeSet<>();
      for (NodeDef.Builder n : graph.getNodeBuilderList()) finishNode(n, ops, used);
      FunctionDefLibrary.Builder lib = graph.getLibraryBuilder();
      for (FunctionDef.Builder f : lib.getFunctionBuilderList()) {
        for (NodeDef.Builder n : f.getNodeDefBuilderList()) finishNode(n, ops, used);
      }
      used.removeAll(functions);
      OpList.Builder stripped = OpList.newBuilder();
      for (String name : used) {
        OpDef d = ops.get(name);
        if (d == null) throw new IllegalStateException("op " + name + " of the exported graph is not registered");
        stripped.addOp(d);
      }
      MetaGraphDef.MetaInfoDef.Builder info = mg.getMetaInfoDefBuilder();
      info.setTensorflowVersion(TensorFlow.version())
          .setStrippedOpList(stripped)
          .setStrippedDefaultAttrs(true);
      mg.clearAssetFileDef();
      for (Map.Entry<String, String> a : new TreeMap<>(assets).entrySet()) {
        if (!Files.isRegularFile(dir.resolve("assets").resolve(a.getKey()))) {
          throw new IllegalStateException("asset " + a.getKey() + " is not in " + dir.resolve("assets"));
        }
        mg.addAssetFileDef(AssetFileDef.newBuilder()
            .setFilename(a.getKey())
            .setTensorInfo(TensorInfo.newBuilder().setName(a.getValue()).setDtype(DataType.DT_STRING)
                .setTensorShape(TensorShapeProto.getDefaultInstance())));
      }
    }
    try (OutputStream out = Files.newOutputStream(pb)) {
      sm.build().writeTo(out);
    }
  }

  private static void finishNode(NodeDef.Builder n, Map<String, OpDef> ops, Set<String> used) {
    if (n.getOp().equals("BatchMatMulV3")) toBatchMatMulV2(n);
    used.add(n.getOp());
    OpDef def = ops.get(n.getOp());
    if (def == null) return; // a call of a library function
    for (OpDef.AttrDef a : def.getAttrList()) {
      if (!a.hasDefaultValue()) continue;
      AttrValue v = n.getAttrMap().get(a.getName());
      if (v != null && v.equals(a.getDefaultValue())) n.removeAttr(a.getName());
    }
  }

  /** BatchMatMulV3(Ta, Tb, Tout all equal) → BatchMatMulV2(T): same inputs, outputs and kernel. */
  private static void toBatchMatMulV2(NodeDef.Builder n) {
    AttrValue ta = n.getAttrMap().get("Ta"), tb = n.getAttrMap().get("Tb"), tout = n.getAttrMap().get("Tout");
    if (ta == null || !ta.equals(tb) || !ta.equals(tout)) return; // mixed dtypes: V3 is needed
    n.setOp("BatchMatMulV2").removeAttr("Ta").removeAttr("Tb").removeAttr("Tout").putAttr("T", ta);
  }
}
