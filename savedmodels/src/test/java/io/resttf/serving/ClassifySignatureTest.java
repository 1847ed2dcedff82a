package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.proto.BytesList;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;
import org.tensorflow.proto.Int64List;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;

/**
 * The {@code classify} signature as TF Serving's Classify API calls it: serialized tf.Example strings in
 * (extra features ignored), the top-k labels as {@code classes} and their probabilities as {@code scores}:
 * the same numbers {@code classify_images} gives for the same image files.
 */
class ClassifySignatureTest {

  @Test
  void classifyOnExamplesEqualsClassifyImagesOnTheirImages() {
    byte[] jpg = TestModels.resource("pil/odd_333x517.jpg"), png = TestModels.resource("pil/rgba_97x150.png");
    byte[] withExtras = Example.newBuilder().setFeatures(Features.newBuilder()
        .putFeature("image/encoded", bytesFeature(png))
        .putFeature("image/format", bytesFeature("png".getBytes(StandardCharsets.UTF_8)))
        .putFeature("image/class/label", Feature.newBuilder().setInt64List(Int64List.newBuilder().addValue(3)).build()))
        .build().toByteArray();
    try (SavedModelBundle b = SavedModelBundle.load(TestModels.exported(TestModels.V2).versionDir().toString(), "serve");
        TString examples = TString.tensorOfBytes(NdArrays.vectorOfObjects(CrossRuntimeTest.example(jpg), withExtras));
        TString images = TString.tensorOfBytes(NdArrays.vectorOfObjects(jpg, png));
        Result c = b.function(ServingSignatures.CLASSIFY).call(Map.of(ServingSignatures.CLASSIFY_INPUTS, examples));
        Result ci = b.function(ServingSignatures.CLASSIFY_IMAGES).call(Map.of(ServingSignatures.IMAGE_BYTES, images))) {
      TString classes = (TString) c.get(ServingSignatures.CLASSIFY_CLASSES).orElseThrow();
      TFloat32 scores = (TFloat32) c.get(ServingSignatures.CLASSIFY_SCORES).orElseThrow();
      TString labels = (TString) ci.get(ServingSignatures.TOP_K_LABELS).orElseThrow();
      TFloat32 probs = (TFloat32) ci.get(ServingSignatures.TOP_K_PROBABILITIES).orElseThrow();
      assertArrayEquals(new long[] {2, 5}, classes.shape().asArray());
      assertArrayEquals(new long[] {2, 5}, scores.shape().asArray());
      for (int i = 0; i < 2; i++) {
        float previous = Float.POSITIVE_INFINITY;
        for (int k = 0; k < 5; k++) {
          assertEquals(labels.getObject(i, k), classes.getObject(i, k));
          assertEquals(probs.getFloat(i, k), scores.getFloat(i, k));
          assertTrue(scores.getFloat(i, k) <= previous, "scores in decreasing order");
          previous = scores.getFloat(i, k);
          assertTrue(classes.getObject(i, k).startsWith("class_"), classes.getObject(i, k));
        }
      }
    }
  }

  @Test
  void anExampleWithoutTheImageFeatureFailsNamingIt() {
    byte[] noImage = Example.newBuilder().setFeatures(Features.newBuilder()
        .putFeature("image/format", bytesFeature("png".getBytes(StandardCharsets.UTF_8)))).build().toByteArray();
    try (SavedModelBundle b = SavedModelBundle.load(TestModels.exported(TestModels.V2).versionDir().toString(), "serve");
        TString examples = TString.tensorOfBytes(NdArrays.vectorOfObjects(noImage))) {
      RuntimeException e = assertThrows(org.tensorflow.exceptions.TFInvalidArgumentException.class,
          () -> b.function(ServingSignatures.CLASSIFY).call(Map.of(ServingSignatures.CLASSIFY_INPUTS, examples)).close());
      assertTrue(e.getMessage().contains("Feature: image/encoded (data type: string) is required"), e.getMessage());
    }
  }

  private static Feature bytesFeature(byte[] b) {
    return Feature.newBuilder().setBytesList(BytesList.newBuilder().addValue(ByteString.copyFrom(b))).build();
  }
}
