package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Step checkpoints ({@code checkpoint_every}): a run that dies mid-epoch (no checkpoint written on the
 * way out, as after SIGKILL) resumes from its newest step checkpoint, not the epoch start, and ends
 * bit-identical to a run that never stopped and never took step checkpoints; only the newest
 * {@code keep_checkpoints} are kept; leftovers of a killed write are ignored.
 */
class StepCheckpointTest {
  static TrainOptions withStepCheckpoints(int every, int keep) {
    TrainOptions given = new TrainOptions();
    given.checkpointEvery = every;
    given.keepCheckpoints = keep;
    return ResumeTest.options().overriddenBy(given);
  }

  static List<Long> stepCheckpoints(Path run) throws Exception {
    try (Stream<Path> s = Files.list(run.resolve(RunDirectory.STEP_CHECKPOINT_DIR))) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("step-"))
          .map(n -> Long.parseLong(n.substring(5))).sorted().toList();
    }
  }

  @Test
  void aRunKilledMidEpochResumesFromItsLastStepCheckpointBitIdentically(@TempDir Path tmp) throws Exception {
    DataSpec data = DataSpec.fashionMnist(96); // 6 steps per epoch of 16, 2 epochs
    Map<String, float[]> straight;
    try (Trainer a = Trainer.start(tmp.resolve("a"), ResumeTest.micro(), null, data, ResumeTest.options(), ResumeTest.settings())) {
      assertTrue(a.run(null).finished());
      straight = a.snapshot();
    }
    assertFalse(Files.exists(tmp.resolve("a").resolve(RunDirectory.STEP_CHECKPOINT_DIR)), "none by default");

    // every 2 steps, keep 2: step 2, 4, (6 is the epoch's end: the epoch checkpoint), 8; dies after step 9
    Path b = tmp.resolve("b");
    try (Trainer t = Trainer.start(b, ResumeTest.micro(), null, data, withStepCheckpoints(2, 2), ResumeTest.settings())) {
      RuntimeException killed = assertThrows(RuntimeException.class, () -> t.run(new TrainingListener() {
        @Override
        public void onStep(StepEvent e) {
          if (e.step() == 9) throw new IllegalStateException("killed");
        }
      }));
      assertEquals("killed", killed.getMessage());
    }
    assertEquals(List.of(4L, 8L), stepCheckpoints(b), "the newest 2");
    assertEquals(6, TrainOptions.JSON.readTree(b.resolve("checkpoint/state.json").toFile()).get("step").asInt());
    // a write killed half-way leaves a hidden directory; it is never resumed from
    Path leftover = Files.createDirectories(b.resolve(RunDirectory.STEP_CHECKPOINT_DIR).resolve(".tmp-step-00000010-dead"));
    Files.writeString(leftover.resolve("state.json"), "{\"step\": 10");
    Files.createDirectories(b.resolve(RunDirectory.STEP_CHECKPOINT_DIR).resolve("step-00000012")); // incomplete: no state

    Map<String, float[]> resumed;
    try (Trainer t = Trainer.resume(b, Trainer.Given.NOTHING, ResumeTest.settings())) {
      assertEquals(8, t.globalStep(), "from the step checkpoint, not the epoch start (6)");
      Trainer.Result r = t.run(new TrainingListener() {
        @Override
        public void onCheckpoint(Path dir, long step) {
          assertTrue(step == 10 || step == 12, "step " + step);
        }
      });
      assertTrue(r.finished());
      assertEquals(12, r.step());
      resumed = t.snapshot();
    }
    assertFalse(Files.exists(leftover), "leftovers are cleared by the next write");
    assertEquals(straight.keySet(), resumed.keySet());
    for (String name : straight.keySet()) {
      assertArrayEquals(straight.get(name), resumed.get(name), name + " differs after resuming from a step checkpoint");
    }
    assertEquals(ResumeTest.stepLosses(tmp.resolve("a")), ResumeTest.stepLosses(b), "every step once, same losses");
  }

  @Test
  void theOptionIsRecordedAndChecked(@TempDir Path tmp) throws Exception {
    Path run = tmp.resolve("r");
    try (Trainer t = Trainer.start(run, ResumeTest.micro(), null, DataSpec.fashionMnist(48), withStepCheckpoints(5, 3), ResumeTest.settings())) {
      t.requestStop();
      assertFalse(t.run(null).finished());
    }
    ObjectNode runJson = (ObjectNode) TrainOptions.JSON.readTree(run.resolve(RunDirectory.RUN_FILE).toFile());
    assertEquals(5, runJson.path("options").path("checkpoint_every").asInt());
    assertEquals(3, runJson.path("options").path("keep_checkpoints").asInt());

    TrainOptions other = new TrainOptions();
    other.checkpointEvery = 50;
    BadInputException e = assertThrows(BadInputException.class,
        () -> Trainer.resume(run, new Trainer.Given(null, null, other, null), ResumeTest.settings()));
    assertTrue(e.getMessage().contains("--checkpoint-every 50 (run: 5)"), e.getMessage());
    TrainOptions same = new TrainOptions();
    same.checkpointEvery = 5;
    try (Trainer t = Trainer.resume(run, new Trainer.Given(null, null, same, null), ResumeTest.settings())) {
      assertEquals(1, t.globalStep());
    }

    // a run recorded before the option existed resumes with epoch checkpoints only
    ((ObjectNode) runJson.get("options")).remove(List.of("checkpoint_every", "keep_checkpoints"));
    Files.writeString(run.resolve(RunDirectory.RUN_FILE), runJson.toString());
    try (Trainer t = Trainer.resume(run, Trainer.Given.NOTHING, ResumeTest.settings())) {
      assertEquals(0, t.options().checkpointEvery);
      assertEquals(1, t.options().keepCheckpoints);
    }

    TrainOptions bad = new TrainOptions();
    bad.checkpointEvery = -1;
    assertThrows(BadInputException.class, () -> ResumeTest.options().overriddenBy(bad).validate());
    bad.checkpointEvery = 1;
    bad.keepCheckpoints = 0;
    assertThrows(BadInputException.class, () -> ResumeTest.options().overriddenBy(bad).validate());
  }
}
