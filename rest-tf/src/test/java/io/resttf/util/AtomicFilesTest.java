package io.resttf.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
  @TempDir Path tmp;

  private List<String> names() throws IOException {
    try (Stream<Path> s = Files.list(tmp)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void fileWriteReplacesAndLeavesNoTemporary() throws IOException {
    Path f = tmp.resolve("a.txt");
    AtomicFiles.writeString(f, "one");
    AtomicFiles.write(f, ch -> ch.write(ByteBuffer.wrap(new byte[] {'t', 'w', 'o'})));
    assertEquals("two", Files.readString(f));
    assertEquals(List.of("a.txt"), names());
  }

  @Test
  void failedFileWriteKeepsTheOldFile() throws IOException {
    Path f = tmp.resolve("a.txt");
    AtomicFiles.writeString(f, "old");
    IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(f, ch -> {
      ch.write(ByteBuffer.wrap(new byte[] {'n', 'e'}));
      throw new IOException("disk full");
    }));
    assertEquals("disk full", e.getMessage());
    assertEquals("old", Files.readString(f));
    assertEquals(List.of("a.txt"), names(), "no temporary file left");
  }

  @Test
  void fileWriteIntoAMissingDirectoryFailsClearly() {
    IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeString(tmp.resolve("no/such/f"), "x"));
    assertTrue(e instanceof NoSuchFileException, e.toString());
    assertEquals("no such file or directory", AtomicFiles.reason(e));
  }

  @Test
  void directoryIsRefusedOrReplacedWhole() throws IOException {
    Path d = tmp.resolve("out");
    AtomicFiles.writeDirectory(d, false, dir -> Files.writeString(dir.resolve("v"), "1"));
    BadInputException refused = assertThrows(BadInputException.class,
        () -> AtomicFiles.writeDirectory(d, false, dir -> Files.writeString(dir.resolve("v"), "2")));
    assertTrue(refused.getMessage().contains("already exists"), refused.getMessage());
    assertEquals("1", Files.readString(d.resolve("v")));

    AtomicFiles.writeDirectory(d, true, dir -> Files.writeString(dir.resolve("w"), "2"));
    assertEquals("2", Files.readString(d.resolve("w")));
    assertFalse(Files.exists(d.resolve("v")), "the old content is gone, not merged");
    assertEquals(List.of("out"), names(), "no temporary directory left");
  }

  @Test
  void failedBuildKeepsTheOldDirectory() throws IOException {
    Path d = tmp.resolve("out");
    AtomicFiles.writeDirectory(d, false, dir -> Files.writeString(dir.resolve("v"), "1"));
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> AtomicFiles.writeDirectory(d, true, dir -> {
      Files.writeString(dir.resolve("v"), "half");
      throw new IOException("build failed");
    }));
    assertTrue(e.getMessage().startsWith(d.toAbsolutePath() + ": cannot write"), e.getMessage());
    assertEquals("1", Files.readString(d.resolve("v")));
    assertEquals(List.of("out"), names());
  }

  @Test
  void staleSiblingsOfAKilledWriterAreRemovedByTheNextWrite() throws IOException {
    Files.createDirectories(tmp.resolve(".tmp-out-dead/sub"));
    Files.createDirectories(tmp.resolve(".tmp-out-old-dead"));
    Files.createDirectories(tmp.resolve(".tmp-other-dead"));
    AtomicFiles.writeDirectory(tmp.resolve("out"), false, dir -> { });
    assertEquals(List.of(".tmp-other-dead", "out"), names(), "only the target's own leftovers go");
  }

  @Test
  void stagedCommitReplacesAnEntryOfAnotherName() throws IOException {
    Path old = Files.createDirectory(tmp.resolve("007"));
    Files.writeString(old.resolve("v"), "old");
    Path target = tmp.resolve("7");
    try (AtomicFiles.StagedDirectory st = AtomicFiles.stage(target)) {
      assertTrue(st.path().getFileName().toString().startsWith(".tmp-7-"), st.path().toString());
      Files.writeString(st.path().resolve("v"), "new");
      st.commit(old);
    }
    assertEquals("new", Files.readString(target.resolve("v")));
    assertEquals(List.of("7"), names());
  }

  @Test
  void uncommittedStagingIsRemovedOnClose() throws IOException {
    try (AtomicFiles.StagedDirectory st = AtomicFiles.stage(tmp.resolve("out"))) {
      Files.writeString(st.path().resolve("v"), "x");
    }
    assertEquals(List.of(), names());
  }
}
