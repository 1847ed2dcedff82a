package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The concurrency sweep behind --profile's "alone" times, on hand-made spans (micros). */
class OpProfileTest {

  @Test
  void loneOpsAndGapsAreTimedBetweenOverlaps() {
    // a [0, 10) and b [5, 15) overlap in [5, 10); nothing in [15, 20); c [20, 30) alone; d [22, 24) inside c
    List<long[]> spans = List.of(new long[] {0, 10, 0}, new long[] {5, 15, 1}, new long[] {20, 30, 2},
        new long[] {22, 24, 3});
    OpProfile.Concurrency c = OpProfile.concurrency(spans, List.of("A a", "B b", "C c", "D d"));
    assertEquals(Map.of("A a", 5L, "B b", 5L, "C c", 8L), c.alone());
    assertEquals(5L, c.idle());
  }

  @Test
  void anOpEndingWhereAnotherStartsLeavesNoGap() {
    OpProfile.Concurrency c = OpProfile.concurrency(List.of(new long[] {0, 4, 0}, new long[] {4, 9, 1}),
        List.of("A a", "B b"));
    assertEquals(Map.of("A a", 4L, "B b", 5L), c.alone());
    assertEquals(0L, c.idle());
  }
}
