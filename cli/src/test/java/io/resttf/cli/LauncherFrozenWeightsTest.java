package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * bin/rest-tf sets TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1 (oneDNN keeps each op's reordered weights after the first
 * run) for a list of verbs. Every one of them must be a real verb, and none may train or otherwise change
 * weights after a run: a cached weight would then be stale. (That cached weights compute right is
 * converters' parity-frozen-weights execution.)
 */
class LauncherFrozenWeightsTest {
  static final Set<String> CHANGE_WEIGHTS = Set.of("train", "demo", "bench-train", "augment-preview", "convert",
      "export", "data");

  @Test
  void onlyInferenceVerbsAssumeFrozenWeights() throws Exception {
    String script = Files.readString(Path.of("../bin/rest-tf"));
    Matcher m = Pattern.compile("case \"\\$\\{1:-\\}\" in\\s*\\n\\s*([a-z| -]+)\\)\\s*\\n\\s*export TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=")
        .matcher(script);
    assertTrue(m.find(), "no frozen-weights verb list in bin/rest-tf");
    List<String> verbs = Arrays.stream(m.group(1).split("\\|")).map(String::trim).toList();
    Set<String> known = new CommandLine(new Main()).getSubcommands().keySet();
    assertTrue(verbs.contains("classify") && verbs.contains("bench"), verbs.toString());
    for (String v : verbs) {
      assertTrue(known.contains(v), "bin/rest-tf names a verb that does not exist: " + v);
      assertFalse(CHANGE_WEIGHTS.contains(v), "bin/rest-tf freezes the weights of a verb that changes them: " + v);
    }
    // and every verb is classified one way or the other, so a new verb is a conscious choice
    for (String v : known) {
      if (v.equals("help") || v.equals("summary") || v.equals("inspect") || v.equals("bench-peak") || v.equals("bench-io")) {
        continue; // no model run, or none with weights
      }
      assertTrue(verbs.contains(v) || CHANGE_WEIGHTS.contains(v),
          "verb " + v + " is neither in bin/rest-tf's frozen-weights list nor known to change weights");
    }
  }
}
