package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ADE20K table as mmseg defines it, and mmseg's seeded fallback palette for other class sets. */
class SegmentationPaletteTest {

  @Test
  void ade20kHas150UniqueNamesAndMmsegColours() {
    SegmentationPalette ade = SegmentationPalette.ade20k();
    assertEquals(150, ade.size());
    assertEquals(150, new HashSet<>(ade.names()).size(), "names are unique");
    // values checked against open-mmlab/mmsegmentation mmseg/datasets/ade.py (b05a26e2f351)
    assertEquals("wall", ade.names().get(0));
    assertArrayEquals(new int[] {120, 120, 120}, ade.color(0));
    assertEquals("building", ade.names().get(1));
    assertArrayEquals(new int[] {180, 120, 120}, ade.color(1));
    assertEquals("bed ", ade.names().get(7), "upstream's trailing space is kept");
    assertEquals("bed", ade.displayName(7));
    assertArrayEquals(new int[] {204, 5, 255}, ade.color(7));
    assertEquals("chest of drawers", ade.names().get(44));
    assertArrayEquals(new int[] {6, 51, 255}, ade.color(44));
    assertEquals("flag", ade.names().get(149));
    assertArrayEquals(new int[] {92, 0, 255}, ade.color(149));
    assertEquals(0x5C00FF, ade.rgb(149));
    assertSame(ade, SegmentationPalette.ade20k(), "read once");
  }

  @Test
  void genericIsNumpysSeed42Randint() {
    // python: np.random.seed(42); np.random.randint(0, 255, size=(150, 3))  (numpy 2.4.6)
    SegmentationPalette p = SegmentationPalette.generic(names(150));
    assertArrayEquals(new int[] {102, 179, 92}, p.color(0));
    assertArrayEquals(new int[] {14, 106, 71}, p.color(1));
    assertArrayEquals(new int[] {188, 20, 102}, p.color(2));
    assertArrayEquals(new int[] {52, 1, 87}, p.color(7));
    assertArrayEquals(new int[] {118, 21, 237}, p.color(149));
    // a prefix of the class list gets the same colours (rows are drawn in order)
    SegmentationPalette three = SegmentationPalette.generic(names(3));
    for (int i = 0; i < 3; i++) assertEquals(p.rgb(i), three.rgb(i));
    assertEquals(p.rgb(5), SegmentationPalette.generic(names(150)).rgb(5), "deterministic");
  }

  @Test
  void forClassesPicksAde20kOnlyForItsNames() {
    List<String> ade = SegmentationPalette.ade20k().names();
    assertSame(SegmentationPalette.ade20k(), SegmentationPalette.forClasses(ade));
    List<String> stripped = ade.stream().map(String::strip).toList();
    assertSame(SegmentationPalette.ade20k(), SegmentationPalette.forClasses(stripped), "'bed' matches 'bed '");

    List<String> swapped = new ArrayList<>(ade);
    swapped.set(0, ade.get(1));
    swapped.set(1, ade.get(0));
    SegmentationPalette other = SegmentationPalette.forClasses(swapped);
    assertNotSame(SegmentationPalette.ade20k(), other);
    assertEquals(swapped, other.names());
    assertEquals(SegmentationPalette.generic(swapped).rgb(0), other.rgb(0));

    SegmentationPalette two = SegmentationPalette.forClasses(List.of("background", "road"));
    assertEquals(2, two.size());
    assertEquals(List.of("background", "road"), two.names());
  }

  @Test
  void badInputIsRefusedWithTheReason() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SegmentationPalette.generic(List.of()));
    assertTrue(e.getMessage().contains("at least one class"), e.getMessage());
    List<String> withNull = new ArrayList<>(List.of("a", "b"));
    withNull.set(1, null);
    e = assertThrows(IllegalArgumentException.class, () -> SegmentationPalette.forClasses(withNull));
    assertTrue(e.getMessage().contains("class name 1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SegmentationPalette.ade20k().color(150));
    assertTrue(e.getMessage().contains("class index 150 out of range [0, 150)"), e.getMessage());
  }

  private static List<String> names(int n) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) names.add("class_" + i);
    return names;
  }
}
