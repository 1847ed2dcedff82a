package io.resttf.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * mmseg's EncoderDecoder with the official ResTv2 backbone and a UPerHead (+ FCN auxiliary head), added
 * to a graph on an NHWC float32 input of any batch and any H, W that are multiples of 32. Parameters
 * carry the keys of an official mmseg checkpoint's state_dict: {@code backbone.*}, {@code decode_head.*},
 * {@code auxiliary_head.*}.
 *
 * <p>The decode head is mmseg 0.x's {@code UPerHead} (decode_heads/uper_head.py, with psp_head.py's
 * PPM): lateral 1×1 ConvModules on backbone outputs 0..2; the PPM on output 3 (per scale: adaptive
 * average pooling → 1×1 ConvModule → bilinear back to the map's size; concatenated after the map itself,
 * then the 3×3 {@code bottleneck}); top-down, each level plus the level above resized to its size; 3×3
 * {@code fpn_convs} on levels 0..2 (level 3 as is); all levels resized to level 0 and concatenated in
 * level order; 3×3 {@code fpn_bottleneck}; {@code conv_seg} 1×1 with bias (dropout is off in inference).
 * {@link #segLogits()} is that, resized to the input size (EncoderDecoder.encode_decode). Every resize is
 * bilinear with align_corners false.
 */
public final class SegmentationNetwork {
  /** mmseg's out_indices for the ResTv2 backbone: all four stages. */
  public static final List<Integer> OUT_INDICES = List.of(0, 1, 2, 3);

  private final RestConfig backboneConfig;
  private final UperNetConfig headConfig;
  private final Params params;
  private final RestNetwork backbone;
  private final Operand<TFloat32> headLogits;
  private final Operand<TFloat32> segLogits;
  private final Operand<TFloat32> auxLogits;
  private final Map<String, Operand<TFloat32>> bufferUpdates;

  private SegmentationNetwork(RestConfig backboneConfig, UperNetConfig headConfig, Params params, RestNetwork backbone,
      Operand<TFloat32> headLogits, Operand<TFloat32> segLogits, Operand<TFloat32> auxLogits,
      Map<String, Operand<TFloat32>> bufferUpdates) {
    this.backboneConfig = backboneConfig;
    this.headConfig = headConfig;
    this.params = params;
    this.backbone = backbone;
    this.headLogits = headLogits;
    this.segLogits = segLogits;
    this.auxLogits = auxLogits;
    this.bufferUpdates = bufferUpdates;
  }

  /** Builds the segmentor for inference. */
  public static SegmentationNetwork build(Ops tf, RestConfig backboneConfig, UperNetConfig head, Operand<TFloat32> input) {
    return build(tf, backboneConfig, head, input, null);
  }

  /** Builds the segmentor; {@code training} as {@link RestNetwork#build(Ops, RestConfig, Operand, RestNetwork.Training)}. */
  public static SegmentationNetwork build(Ops tf, RestConfig backboneConfig, UperNetConfig head, Operand<TFloat32> input,
      RestNetwork.Training training) {
    head.validate();
    Params params = new Params(tf);
    RestNetwork backbone = RestNetwork.buildBackbone(tf, backboneConfig, input, OUT_INDICES, BackboneStyle.MMSEG,
        params.prefixed("backbone."), training);
    List<Operand<TFloat32>> feats = new ArrayList<>();
    for (int i = 0; i < backbone.numStages(); i++) feats.add(backbone.stage(i));

    Nn decode = new Nn(tf.withSubScope("decode_head"), params.prefixed("decode_head."), backboneConfig, training);
    Operand<TFloat32> headLogits = uperHead(decode, backboneConfig, head, feats);
    Nn top = new Nn(tf, params, backboneConfig, training);
    Operand<TFloat32> segLogits = top.resizeBilinear(headLogits, top.dims(input, 1, 3));

    Operand<TFloat32> aux = null;
    Map<String, Operand<TFloat32>> updates = new LinkedHashMap<>(backbone.bufferUpdates());
    updates.putAll(decode.bufferUpdates);
    if (head.hasAuxiliaryHead()) {
      Nn auxNn = new Nn(tf.withSubScope("auxiliary_head"), params.prefixed("auxiliary_head."), backboneConfig, training);
      int in = backboneConfig.dim(head.auxInIndex());
      // FCNHead(num_convs=1, kernel 3, concat_input=False): convs.0 → cls_seg
      Operand<TFloat32> y = auxNn.convModule(feats.get(head.auxInIndex()), "convs.0", in, head.auxChannels(), 3);
      aux = auxNn.conv(y, "conv_seg", head.auxChannels(), head.numClasses(), 1, 1, 0, true);
      updates.putAll(auxNn.bufferUpdates);
    }
    return new SegmentationNetwork(backboneConfig, head, params, backbone, headLogits, segLogits, aux,
        Collections.unmodifiableMap(updates));
  }

  /** UPerHead.forward on the four backbone outputs: logits at stride 4 [B, H/4, W/4, K]. */
  private static Operand<TFloat32> uperHead(Nn nn, RestConfig bb, UperNetConfig head, List<Operand<TFloat32>> feats) {
    int ch = head.channels();
    int levels = feats.size();
    List<Operand<TFloat32>> laterals = new ArrayList<>();
    for (int i = 0; i < levels - 1; i++) {
      laterals.add(nn.convModule(feats.get(i), "lateral_convs." + i, bb.dim(i), ch, 1));
    }
    laterals.add(pspForward(nn, bb.dim(levels - 1), head, feats.get(levels - 1)));
    for (int i = levels - 1; i > 0; i--) {
      Operand<TFloat32> up = nn.resizeBilinear(laterals.get(i), nn.dims(laterals.get(i - 1), 1, 3));
      laterals.set(i - 1, nn.tf.math.add(laterals.get(i - 1), up));
    }
    List<Operand<TFloat32>> fpnOuts = new ArrayList<>();
    for (int i = 0; i < levels - 1; i++) {
      fpnOuts.add(nn.convModule(laterals.get(i), "fpn_convs." + i, ch, ch, 3));
    }
    fpnOuts.add(laterals.get(levels - 1));
    Operand<TInt32> size0 = nn.dims(fpnOuts.get(0), 1, 3);
    for (int i = levels - 1; i > 0; i--) fpnOuts.set(i, nn.resizeBilinear(fpnOuts.get(i), size0));
    Operand<TFloat32> fused = nn.tf.concat(fpnOuts, nn.tf.constant(3));
    Operand<TFloat32> out = nn.convModule(fused, "fpn_bottleneck", levels * ch, ch, 3);
    return nn.conv(out, "conv_seg", ch, head.numClasses(), 1, 1, 0, true);
  }

  /** UPerHead.psp_forward: [x, PPM(x) per scale] concatenated on channels → 3×3 {@code bottleneck}. */
  private static Operand<TFloat32> pspForward(Nn nn, int in, UperNetConfig head, Operand<TFloat32> x) {
    List<Operand<TFloat32>> outs = new ArrayList<>();
    outs.add(x);
    Operand<TInt32> size = nn.dims(x, 1, 3);
    for (int i = 0; i < head.poolScales().size(); i++) {
      Operand<TFloat32> pooled = nn.adaptiveAvgPool(x, head.poolScales().get(i));
      Operand<TFloat32> y = nn.convModule(pooled, "psp_modules." + i + ".1", in, head.channels(), 1);
      outs.add(nn.resizeBilinear(y, size));
    }
    Operand<TFloat32> cat = nn.tf.concat(outs, nn.tf.constant(3));
    return nn.convModule(cat, "bottleneck", in + head.poolScales().size() * head.channels(), head.channels(), 3);
  }

  public RestConfig backboneConfig() {
    return backboneConfig;
  }

  public UperNetConfig headConfig() {
    return headConfig;
  }

  /** All parameters (backbone, decode and auxiliary head), under their official mmseg keys. */
  public Params params() {
    return params;
  }

  public Operand<TFloat32> input() {
    return backbone.input();
  }

  /** Backbone output {@code i} (0..3) after its norm_{i+1}, NHWC at stride 4·2^i. */
  public Operand<TFloat32> feature(int i) {
    return backbone.stage(i);
  }

  /** The decode head's logits at stride 4, [B, H/4, W/4, K]. */
  public Operand<TFloat32> headLogits() {
    return headLogits;
  }

  /** Logits at the input size, [B, H, W, K] (mmseg's encode_decode). */
  public Operand<TFloat32> segLogits() {
    return segLogits;
  }

  /** The FCN auxiliary head's logits at stride 16, [B, H/16, W/16, K]; null without one. */
  public Operand<TFloat32> auxLogits() {
    return auxLogits;
  }

  /** Training mode: new BatchNorm running statistics by official key (empty for inference). */
  public Map<String, Operand<TFloat32>> bufferUpdates() {
    return bufferUpdates;
  }
}
