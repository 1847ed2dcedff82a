package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BenchPeakCommandTest {
  @Test
  void reportsBothDtypes() {
    CliRun r = CliRun.of("bench-peak", "--size", "128", "--iters", "2").ok();
    assertTrue(r.out().contains("matmul:      128 x 128 x 128"), r.out());
    assertTrue(r.out().matches("(?s).*float32: +\\d+\\.\\d GFLOP/s best.*"), r.out());
    assertTrue(r.out().matches("(?s).*bfloat16: +\\d+\\.\\d GFLOP/s best.*"), r.out());
    assertTrue(r.out().contains("bf16/fp32:"), r.out());
  }

  @Test
  void refusesBadSizes() {
    CliRun.of("bench-peak", "--size", "8").badInput("--size", "8");
    CliRun.of("bench-peak", "--iters", "0").badInput("--iters", "0");
  }
}
