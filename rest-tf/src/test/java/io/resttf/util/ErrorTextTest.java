package io.resttf.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ErrorTextTest {
  /** What TF printed on a full disk during export (issue 11), as the session recorded it. */
  static final String FULL_DISK = "/tmp/full/m/.tmp-1-abc/variables/variables_temp/part-00000-of-00001.data-00000-of-00001.tempstate123;"
      + " No space left on device\n\t [[{{node save/Save}}]]\nHint: If you want to see a list of allocated tensors when"
      + " OOM happens, add report_tensor_allocations_upon_oom to RunOptions for current allocation info.";

  @Test
  void fullDiskTensorFlowMessageBecomesTheOsReason() {
    assertEquals("no space left on device", ErrorText.tensorFlow(FULL_DISK));
    assertEquals("no space left on device", ErrorText.osReason(FULL_DISK));
  }

  @Test
  void tensorFlowMessagesLoseNodeNamesHintsAndOpSuffixes() {
    String t = ErrorText.tensorFlow("Attempting to use uninitialized value stem.proj.4.running_var\n\t [[{{node"
        + " stem.proj.4.running_var/read}}]]\nHint: If you want to s");
    assertEquals("Attempting to use uninitialized value stem.proj.4.running_var", t);
    assertEquals("Incompatible shapes: [2,3] vs. [4,3]",
        ErrorText.tensorFlow("Incompatible shapes: [2,3] vs. [4,3] [Op:AddV2]"));
    assertFalse(ErrorText.tensorFlow("x\n\t [[{{node a/b}}]]").contains("node"));
  }

  @Test
  void readOnlyAndPermissionReasons() {
    assertEquals("read-only file system", ErrorText.reason(new FileSystemException("/m/1", null, "Read-only file system")));
    assertEquals("permission denied", ErrorText.reason(new AccessDeniedException("/m/1")));
    assertEquals("no such file or directory", ErrorText.reason(new NoSuchFileException("/m/1")));
    assertEquals("no space left on device", ErrorText.reason(new IOException("No space left on device")));
    assertEquals("/m/1: permission denied", ErrorText.describe("fallback", new AccessDeniedException("/m/1")));
    assertNull(ErrorText.osReason("Invalid argument"));
  }

  /** A real failure of the OS: a path under a regular file. */
  @Test
  void reasonOfARealFailureNamesTheCause(@TempDir Path tmp) throws IOException {
    Path file = Files.writeString(tmp.resolve("f"), "x");
    IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
        () -> Files.createDirectories(file.resolve("sub")));
    String reason = ErrorText.reason(e);
    assertFalse(reason.isBlank());
    assertFalse(reason.contains(file.toString()), reason);
    assertTrue(reason.equals("not a directory") || reason.equals("already exists"), reason);
  }
}
