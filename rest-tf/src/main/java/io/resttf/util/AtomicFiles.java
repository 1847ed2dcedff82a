package io.resttf.util;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a single file all at once: the content goes to a hidden sibling ({@code .NAME.tmp-…}), is
 * flushed, and is renamed over the target, so a reader never sees half a file and an interrupted write
 * leaves the previous version intact. (Whole directories: {@link AtomicDirectory}.)
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** Writes the file's content into the path it is given. */
  @FunctionalInterface
  public interface Writer {
    void write(Path tmp) throws IOException;
  }

  /** Writes {@code file} through {@code writer}, replacing an existing file atomically. */
  public static void write(Path file, Writer writer) throws IOException {
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp-" + Long.toHexString(System.nanoTime()));
    try {
      writer.write(tmp);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Writes {@code text} (UTF-8) to {@code file} atomically, synced to disk before the rename. */
  public static void writeString(Path file, String text) throws IOException {
    write(file, tmp -> {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
        ch.force(true);
      }
    });
  }
}
