package io.resttf.convert;

import io.resttf.model.BackboneStyle;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Moving weights between the classifier and the dense-prediction models, as the official dense code does
 * when it starts from a classification checkpoint or reuses a dense one.
 */
public final class DenseCheckpoints {
  private DenseCheckpoints() {}

  /**
   * A classification state_dict as the start of an mmseg segmentor (what mmseg's {@code init_weights} with
   * {@code pretrained=} does: the trunk under {@code backbone.}, the classifier's {@code head.*} and final
   * {@code norm.*} left out). Load the result with {@link #segmentorFromClassification()}: the output norms
   * and both heads start fresh and are reported.
   */
  public static Map<String, HostTensor> classificationAsSegmentorBackbone(Map<String, HostTensor> classification) {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    classification.forEach((k, v) -> {
      if (!k.startsWith("head.") && !k.startsWith("norm.")) out.put(ConfigDetector.BACKBONE + k, v);
    });
    return out;
  }

  /** Load options for {@link #classificationAsSegmentorBackbone}: output norms and heads may stay fresh. */
  public static RestModel.LoadOptions segmentorFromClassification() {
    return RestModel.LoadOptions.allowMissing(Pattern.compile(
        Pattern.quote(ConfigDetector.BACKBONE) + "norm_[1-4]\\..*|" + Pattern.quote(ConfigDetector.DECODE_HEAD) + ".*|"
            + Pattern.quote(ConfigDetector.AUXILIARY_HEAD) + ".*"));
  }

  /**
   * Load options that read an mmseg segmentor's checkpoint into a {@link io.resttf.model.BackboneModel} of
   * style {@link BackboneStyle#MMSEG} under {@code backbone.}: the decode and auxiliary heads are ignored.
   */
  public static RestModel.LoadOptions backboneOfSegmentor() {
    return new RestModel.LoadOptions(Pattern.compile(Pattern.quote(ConfigDetector.DECODE_HEAD) + ".*|"
        + Pattern.quote(ConfigDetector.AUXILIARY_HEAD) + ".*"), null);
  }

  /** The backbone config of a classification config (no classes: the dense models have no classifier). */
  public static RestConfig backboneConfig(RestConfig classification) {
    return classification.withNumClasses(0);
  }
}
