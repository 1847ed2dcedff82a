package io.resttf.serving;

import io.resttf.model.BackboneStyle;
import io.resttf.model.RestConfig;
import io.resttf.model.UperNetConfig;
import io.resttf.tensor.BadInputException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a dense-prediction export holds: an mmseg segmentor (ResTv2 backbone + UPerNet, {@code head} set)
 * or a bare backbone of a {@link BackboneStyle} (e.g. detectron2's), its parameters under {@code keyPrefix}.
 *
 * @param labels class names of a segmentor (empty: ADE20K's for 150 classes, else class_0 … class_{K-1}); empty for a backbone
 */
public record DenseExport(RestConfig backbone, BackboneStyle style, String keyPrefix, UperNetConfig head, List<String> labels,
    TestPipeline pipeline) {
  /**
   * A segmentor's in-graph test pipeline: AlignResize into {@code longEdge} × {@code shortEdge} keeping the
   * ratio (sides then up to multiples of 32), then Normalize with {@code mean} / {@code std} per channel in
   * 0..255 units (one channel: the image's ITU-R 601 luma).
   */
  public record TestPipeline(int longEdge, int shortEdge, List<Double> mean, List<Double> std) {
    /** The official ADE20K configs: 2048 × 512, ImageNet's statistics, RGB. */
    public static final TestPipeline ADE20K = new TestPipeline(2048, 512, List.of(123.675, 116.28, 103.53),
        List.of(58.395, 57.12, 57.375));

    public TestPipeline {
      mean = List.copyOf(mean);
      std = List.copyOf(std);
    }
  }

  public DenseExport {
    labels = labels == null ? List.of() : List.copyOf(labels);
    if (pipeline == null) pipeline = TestPipeline.ADE20K;
  }

  /** An mmseg segmentor (keys backbone.*, decode_head.*, auxiliary_head.*) with the ADE20K test pipeline. */
  public static DenseExport segmentor(RestConfig backbone, UperNetConfig head, List<String> labels) {
    return new DenseExport(backbone, BackboneStyle.MMSEG, "backbone.", head, labels, TestPipeline.ADE20K);
  }

  /** The same with another test pipeline (e.g. a model trained on small images). */
  public DenseExport withPipeline(TestPipeline p) {
    return new DenseExport(backbone, style, keyPrefix, head, labels, p);
  }

  /** A backbone alone: its four normed outputs. */
  public static DenseExport backbone(RestConfig backbone, BackboneStyle style, String keyPrefix) {
    return new DenseExport(backbone, style, keyPrefix, null, List.of(), null);
  }

  public String task() {
    return head == null ? SavedModelExporter.TASK_BACKBONE : SavedModelExporter.TASK_SEGMENTATION;
  }

  /** The labels written to labels.txt: the given names, or class_i for a segmentor without names. */
  @Override
  public List<String> labels() {
    if (head == null || !labels.isEmpty()) return labels;
    // the official segmentation checkpoints are ADE20K's: 150 classes in mmseg's order
    if (head.numClasses() == SegmentationPalette.ADE20K_CLASSES) return SegmentationPalette.ade20k().names();
    List<String> out = new ArrayList<>();
    for (int i = 0; i < head.numClasses(); i++) out.add("class_" + i);
    return out;
  }

  DenseExport validate() {
    backbone.validate();
    if (backbone.family() != style.family()) {
      throw new BadInputException(style + " backbones are " + style.family().id() + ", the config is " + backbone.family().id());
    }
    int c = backbone.inChans();
    if (head != null && (pipeline.mean().size() != c || pipeline.std().size() != c)) {
      throw new BadInputException("the test pipeline normalises " + pipeline.mean().size() + " channels, the model takes " + c);
    }
    if (pipeline.shortEdge() < 32 || pipeline.longEdge() < pipeline.shortEdge()) {
      throw new BadInputException("test pipeline scale " + pipeline.longEdge() + "x" + pipeline.shortEdge() + ": need long >= short >= 32");
    }
    if (head != null) {
      head.validate();
      if (!labels.isEmpty() && labels.size() != head.numClasses()) {
        throw new BadInputException(labels.size() + " labels for a head of " + head.numClasses() + " classes");
      }
    }
    return this;
  }
}
