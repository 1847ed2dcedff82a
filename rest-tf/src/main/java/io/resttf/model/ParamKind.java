package io.resttf.model;

/**
 * What a parameter is, declared by the layer that creates it ({@link Nn}): it decides the layout
 * transform between the official (PyTorch) tensor and the TF variable ({@link WeightMapping}), the fresh
 * initialisation ({@link WeightInit}) and whether the optimizer trains it. No key name is consulted.
 */
public enum ParamKind {
  /** Conv2d weight [O, I, kh, kw] → HWIO [kh, kw, I, O]. */
  CONV,
  /** Depthwise Conv2d weight [C·m, 1, kh, kw] → [kh, kw, C, m] (m, the channel multiplier, in the TF shape). */
  DEPTHWISE,
  /**
   * A depthwise conv on a residual branch added to a trained network (cwin's conv after each stage): laid
   * out as {@link #DEPTHWISE}, but fresh at zero, so a checkpoint loaded without it computes what it did
   * (as ViTDet starts its propagation blocks).
   */
  RESIDUAL_DEPTHWISE,
  /** 1×1 Conv2d mixing attention heads, [h_out, h_in, 1, 1] → a [h_in, h_out] matrix. */
  HEAD_MIX,
  /** Linear weight [out, in] → [in, out]. */
  LINEAR,
  /** Bias of a convolution of any of the kinds above (v1 draws it from the conv's fan-in). */
  CONV_BIAS,
  /** Bias of a Linear. */
  LINEAR_BIAS,
  /** LayerNorm / BatchNorm scale. */
  NORM_WEIGHT,
  /** LayerNorm / BatchNorm shift. */
  NORM_BIAS,
  /** BatchNorm running mean (a buffer: not trained). */
  RUNNING_MEAN,
  /** BatchNorm running variance (a buffer: not trained). */
  RUNNING_VAR;

  /** Parameters are trained; buffers (BatchNorm running statistics) are not. */
  public boolean trainable() {
    return this != RUNNING_MEAN && this != RUNNING_VAR;
  }
}
