package io.resttf.model;

/**
 * How the official dense-prediction code turns the network into a backbone of four outputs (strides 4–32):
 * where each output's LayerNorm sits and what its state_dict key is. None has the classification network's
 * final {@code norm} + {@code head} except where said.
 */
public enum BackboneStyle {
  /**
   * mmseg's ResTV2 (semantic_segmentation/backbone/rest_v2.py): each stage output through its own
   * channels-first LayerNorm {@code norm_{i}} on the side; the trunk goes on un-normed.
   */
  MMSEG(Family.V2, "norm_%d", false),
  /**
   * detectron2's ResTV2 (object_detection/restv2/restv2.py): the same side norms, each wrapped in an
   * nn.Sequential, so keyed {@code norm_{i}.0}.
   */
  D2_V2(Family.V2, "norm_%d.0", false),
  /**
   * detectron2's ResT (object_detection/restv2/rest.py): {@code norm{i}} applied in the trunk after stages
   * 1–3 (the next patch embedding sees the normed tokens) and the classification {@code norm} after stage 4;
   * the outputs are the normed trunk. No head.
   */
  D2_V1(Family.V1, "norm%d", true);

  private final Family family;
  private final String normKey;
  private final boolean inTrunk;

  BackboneStyle(Family family, String normKey, boolean inTrunk) {
    this.family = family;
    this.normKey = normKey;
    this.inTrunk = inTrunk;
  }

  public Family family() {
    return family;
  }

  /** Whether the output norms are applied in the trunk (the next stage sees them) rather than on the side. */
  public boolean normsInTrunk() {
    return inTrunk;
  }

  /** The module prefix of stage {@code i}'s (0..3) output norm. */
  public String normPrefix(int i) {
    if (this == D2_V1 && i == RestConfig.NUM_STAGES - 1) return "norm";
    return String.format(java.util.Locale.ROOT, normKey, i + 1);
  }
}
