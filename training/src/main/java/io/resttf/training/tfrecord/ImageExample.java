package io.resttf.training.tfrecord;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.resttf.tensor.BadInputException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import org.tensorflow.proto.BytesList;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;
import org.tensorflow.proto.Int64List;

/**
 * One labelled image as a {@code tf.Example} with the usual keys of TensorFlow's image datasets (the
 * TF-Slim / Object Detection API convention): {@code image/encoded} (the file's bytes), {@code image/format}
 * ("png", "jpeg", …), {@code image/class/label} (int64), {@code image/class/text}, {@code image/height},
 * {@code image/width}, {@code image/filename} (where the image came from, e.g. "cat/001.png"). {@code label} -1
 * and {@code text} / {@code filename} null: absent.
 */
public record ImageExample(byte[] encoded, String format, long label, String text, long height, long width, String filename) {
  public static final String ENCODED = "image/encoded";
  public static final String FORMAT = "image/format";
  public static final String LABEL = "image/class/label";
  public static final String TEXT = "image/class/text";
  public static final String HEIGHT = "image/height";
  public static final String WIDTH = "image/width";
  public static final String FILENAME = "image/filename";

  /** The serialized tf.Example. */
  public byte[] toBytes() {
    Features.Builder f = Features.newBuilder()
        .putFeature(ENCODED, bytes(encoded))
        .putFeature(FORMAT, bytes(format.getBytes(StandardCharsets.UTF_8)))
        .putFeature(HEIGHT, int64(height))
        .putFeature(WIDTH, int64(width));
    if (label >= 0) f.putFeature(LABEL, int64(label));
    if (text != null) f.putFeature(TEXT, bytes(text.getBytes(StandardCharsets.UTF_8)));
    if (filename != null) f.putFeature(FILENAME, bytes(filename.getBytes(StandardCharsets.UTF_8)));
    return Example.newBuilder().setFeatures(f).build().toByteArray();
  }

  /**
   * Parses a serialized tf.Example; {@code where} names it in errors ("file: record 3"). {@code image/encoded}
   * is required; the other keys are optional (label -1, text and filename null, sizes 0, format "" when absent).
   */
  public static ImageExample parse(byte[] record, String where) {
    Example e;
    try {
      e = Example.parseFrom(record);
    } catch (InvalidProtocolBufferException ex) {
      throw new BadInputException(where + ": not a tf.Example (" + ex.getMessage() + ")");
    }
    Map<String, Feature> m = e.getFeatures().getFeatureMap();
    byte[] encoded = onlyBytes(m, ENCODED, where);
    if (encoded == null) throw new BadInputException(where + ": no " + ENCODED + " bytes feature");
    byte[] format = onlyBytes(m, FORMAT, where);
    byte[] text = onlyBytes(m, TEXT, where);
    byte[] filename = onlyBytes(m, FILENAME, where);
    return new ImageExample(encoded, format == null ? "" : new String(format, StandardCharsets.UTF_8).toLowerCase(Locale.ROOT),
        onlyInt(m, LABEL, -1, where), text == null ? null : new String(text, StandardCharsets.UTF_8),
        onlyInt(m, HEIGHT, 0, where), onlyInt(m, WIDTH, 0, where),
        filename == null ? null : new String(filename, StandardCharsets.UTF_8));
  }

  private static Feature bytes(byte[] b) {
    return Feature.newBuilder().setBytesList(BytesList.newBuilder().addValue(ByteString.copyFrom(b))).build();
  }

  private static Feature int64(long v) {
    return Feature.newBuilder().setInt64List(Int64List.newBuilder().addValue(v)).build();
  }

  private static byte[] onlyBytes(Map<String, Feature> m, String key, String where) {
    Feature f = m.get(key);
    if (f == null) return null;
    if (f.getKindCase() != Feature.KindCase.BYTES_LIST || f.getBytesList().getValueCount() != 1) {
      throw new BadInputException(where + ": " + key + " must hold one bytes value, has " + describe(f));
    }
    return f.getBytesList().getValue(0).toByteArray();
  }

  private static long onlyInt(Map<String, Feature> m, String key, long absent, String where) {
    Feature f = m.get(key);
    if (f == null) return absent;
    if (f.getKindCase() != Feature.KindCase.INT64_LIST || f.getInt64List().getValueCount() != 1) {
      throw new BadInputException(where + ": " + key + " must hold one int64 value, has " + describe(f));
    }
    return f.getInt64List().getValue(0);
  }

  /** "bytes x2", "float x1", "nothing", for errors and inspect. */
  public static String describe(Feature f) {
    return switch (f.getKindCase()) {
      case BYTES_LIST -> "bytes x" + f.getBytesList().getValueCount();
      case INT64_LIST -> "int64 x" + f.getInt64List().getValueCount();
      case FLOAT_LIST -> "float x" + f.getFloatList().getValueCount();
      case KIND_NOT_SET -> "nothing";
    };
  }
}
