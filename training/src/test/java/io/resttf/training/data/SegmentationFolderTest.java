package io.resttf.training.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dataset layouts a segmentation split is found in. */
class SegmentationFolderTest {
  @Test
  void mmsegAde20kAndPerSplitLayouts(@TempDir Path tmp) throws Exception {
    Path mmseg = tmp.resolve("mmseg");
    Files.createDirectories(mmseg.resolve("images/train"));
    Files.createDirectories(mmseg.resolve("annotations/train"));
    assertArrayEquals(new Path[] {mmseg.resolve("images/train"), mmseg.resolve("annotations/train")},
        SegmentationFolder.split(mmseg, "train"));
    Path ade = tmp.resolve("ade");
    Files.createDirectories(ade.resolve("images/validation"));
    Files.createDirectories(ade.resolve("annotations/validation"));
    assertArrayEquals(new Path[] {ade.resolve("images/validation"), ade.resolve("annotations/validation")},
        SegmentationFolder.split(ade, "val"));
    Path per = tmp.resolve("per");
    Files.createDirectories(per.resolve("val/images"));
    Files.createDirectories(per.resolve("val/annotations"));
    assertArrayEquals(new Path[] {per.resolve("val/images"), per.resolve("val/annotations")}, SegmentationFolder.split(per, "val"));
    assertNull(SegmentationFolder.split(per, "train"));
    BadInputException e = assertThrows(BadInputException.class,
        () -> SegmentationFolder.readSplit(per, "train", 1, 2, new double[] {0}, new double[] {1}));
    assertTrue(e.getMessage().contains("no train split"), e.getMessage());
    e = assertThrows(BadInputException.class,
        () -> SegmentationFolder.readSplit(per, "val", 1, 2, new double[] {0}, new double[] {1}));
    assertTrue(e.getMessage().contains("no images"), e.getMessage());
  }
}
