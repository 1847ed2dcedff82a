package io.resttf.model;

import java.util.List;

/**
 * mmseg's UPerHead and FCN auxiliary head as the official ResTv2 segmentation configs set them
 * (semantic_segmentation/configs/_base_/models/upernet_restv2.py): {@code channels} 512, pool scales
 * (1, 2, 3, 6), the auxiliary FCN head on backbone output {@code auxInIndex} 2 with {@code auxChannels}
 * 256 (one 3×3 ConvModule), align_corners false, {@code numClasses} 150 for ADE20K.
 *
 * @param channels    width of every decode-head ConvModule
 * @param poolScales  the PPM's adaptive-pooling output sizes, in module order
 * @param numClasses  classes of both heads' {@code conv_seg}
 * @param auxChannels width of the auxiliary head's ConvModule; 0 = no auxiliary head
 * @param auxInIndex  which backbone output the auxiliary head reads
 */
public record UperNetConfig(int channels, List<Integer> poolScales, int numClasses, int auxChannels, int auxInIndex) {
  public static final List<Integer> DEFAULT_POOL_SCALES = List.of(1, 2, 3, 6);
  /** Upper bounds: far above mmseg's configs, low enough to refuse absurd sizes at once. */
  public static final int MAX_CHANNELS = 16384;
  public static final int MAX_POOL_SCALE = 256;

  public UperNetConfig {
    poolScales = List.copyOf(poolScales);
  }

  /** The official configs' head for {@code numClasses} classes (512 channels, aux 256 on output 2). */
  public static UperNetConfig official(int numClasses) {
    return new UperNetConfig(512, DEFAULT_POOL_SCALES, numClasses, 256, 2);
  }

  public boolean hasAuxiliaryHead() {
    return auxChannels > 0;
  }

  /** Refuses what no head can be built from, naming the field. */
  public UperNetConfig validate() {
    if (channels < 1 || channels > MAX_CHANNELS) {
      throw new io.resttf.tensor.BadInputException("head channels must be in 1.." + MAX_CHANNELS + ", got " + channels);
    }
    if (numClasses < 1 || numClasses > RestConfig.MAX_NUM_CLASSES) {
      throw new io.resttf.tensor.BadInputException("head num_classes must be in 1.." + RestConfig.MAX_NUM_CLASSES + ", got " + numClasses);
    }
    if (poolScales.isEmpty() || poolScales.stream().anyMatch(s -> s == null || s < 1 || s > MAX_POOL_SCALE)) {
      throw new io.resttf.tensor.BadInputException("head pool_scales must be 1.." + MAX_POOL_SCALE + ", got " + poolScales);
    }
    if (auxChannels < 0 || auxChannels > MAX_CHANNELS) {
      throw new io.resttf.tensor.BadInputException("aux_channels must be in 0.." + MAX_CHANNELS + ", got " + auxChannels);
    }
    if (auxChannels > 0 && (auxInIndex < 0 || auxInIndex >= RestConfig.NUM_STAGES)) {
      throw new io.resttf.tensor.BadInputException("aux_in_index must be 0..3, got " + auxInIndex);
    }
    return this;
  }
}
