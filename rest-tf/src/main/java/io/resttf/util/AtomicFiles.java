package io.resttf.util;

import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * The one way this project writes files and directories that users, TF Serving or a resumed run read:
 * the content goes to a hidden sibling ({@code .tmp-NAME-…}), is synced to disk, and is renamed into
 * place, so a reader sees the old version or the complete new one, never half of it. A killed writer
 * leaves only a hidden sibling, which the next write of the same target removes.
 *
 * <p>Renames are atomic or fail with a clear error: a copy-and-delete fallback would let readers see a
 * half-moved directory. The temporary sibling is in the same directory, so on any local file system the
 * rename is a plain rename(2).
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** Prefix of every temporary name: hidden, and never all digits (TF Serving takes those for versions). */
  public static final String TMP_PREFIX = ".tmp-";

  /** Writes a file's content into an open channel (the channel is synced and closed by the caller). */
  @FunctionalInterface
  public interface ChannelWriter {
    void write(FileChannel ch) throws IOException;
  }

  /** Builds the content of a directory in the (empty) directory it is given. */
  @FunctionalInterface
  public interface DirectoryBuilder {
    void build(Path dir) throws IOException;
  }

  // ------------------------------------------------------------------------------------------ files

  /**
   * Writes {@code file} through {@code writer}, replacing an existing file atomically. Fails (leaving any
   * old file intact and no temporary file behind) if the writer, the sync or the rename fails.
   */
  public static void write(Path file, ChannelWriter writer) throws IOException {
    Path target = file.toAbsolutePath();
    Path dir = target.getParent();
    Path tmp = null;
    try {
      FileChannel ch = null;
      for (int attempt = 0; ch == null; attempt++) {
        tmp = dir.resolve(tmpName(target.getFileName().toString()));
        try {
          ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException e) {
          if (attempt > 100) {
            throw e;
          }
        }
      }
      try (FileChannel c = ch) {
        writer.write(c);
        c.force(true);
      }
      move(tmp, target);
      tmp = null;
      syncDirectory(dir);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: the write already failed
        }
      }
    }
  }

  /** Writes {@code text} (UTF-8) to {@code file} atomically. */
  public static void writeString(Path file, String text) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    write(file, ch -> {
      while (bytes.hasRemaining()) {
        ch.write(bytes);
      }
    });
  }

  // ------------------------------------------------------------------------------------ directories

  /**
   * Creates {@code target} with the content {@code builder} writes. An existing target is refused
   * unless {@code replace}, in which case the old one is swapped out only after the new one is complete.
   *
   * @throws BadInputException if the target exists and {@code replace} is false
   * @throws UncheckedIOException naming the target if the build or the rename fails
   */
  public static void writeDirectory(Path target, boolean replace, DirectoryBuilder builder) {
    Path abs = target.toAbsolutePath().normalize();
    if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS) && !replace) {
      throw new BadInputException(abs + ": already exists (use --force to replace it)");
    }
    try {
      Files.createDirectories(abs.getParent());
      removeStale(abs.getParent(), abs.getFileName().toString());
      try (StagedDirectory staged = stage(abs)) {
        builder.build(staged.path());
        staged.commit(Files.exists(abs, LinkOption.NOFOLLOW_LINKS) ? abs : null);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(abs + ": cannot write (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Creates the hidden sibling a new version of {@code target} is built in ({@code .tmp-NAME-…}). A
   * shutdown hook removes it if the JVM exits before {@link StagedDirectory#commit}; the commit and the
   * hook exclude each other, so an exiting JVM either completes the rename or leaves no target behind.
   * For callers that need their own locking or naming around the commit; others use
   * {@link #writeDirectory}.
   */
  public static StagedDirectory stage(Path target) throws IOException {
    return new StagedDirectory(target.toAbsolutePath().normalize());
  }

  /** A directory being built beside its target; {@link #close} removes it unless it was committed. */
  public static final class StagedDirectory implements AutoCloseable {
    private final Path target;
    private final Path dir;
    private final Thread hook;
    private boolean committing;
    private boolean committed;
    private boolean aborted;

    private StagedDirectory(Path target) throws IOException {
      this.target = target;
      this.dir = target.resolveSibling(tmpName(target.getFileName().toString()));
      this.hook = new Thread(this::abort, "rest-tf-atomic-cleanup");
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        Files.createDirectory(dir);
      } catch (IOException e) {
        removeHook();
        throw e;
      }
    }

    /** The directory to build the content in. */
    public Path path() {
      return dir;
    }

    private synchronized void abort() {
      if (committing) {
        return;
      }
      aborted = true;
      // Rename first so a concurrent writer cannot complete the directory, then delete.
      Path doomed = target.resolveSibling(TMP_PREFIX + target.getFileName() + "-abandoned-" + randomSuffix());
      try {
        move(dir, doomed);
        deleteQuietly(doomed);
      } catch (IOException e) {
        deleteQuietly(dir);
      }
    }

    /**
     * Renames the built directory to the target. {@code displaced}, the entry the new one replaces (the
     * target itself, or another name for the same thing; null if none), is first moved aside to
     * {@code .tmp-NAME-old-…}, put back if the rename fails, and deleted after it succeeded.
     */
    public void commit(Path displaced) throws IOException {
      Path old = null;
      synchronized (this) {
        if (aborted) {
          throw new IOException("interrupted by JVM shutdown");
        }
        committing = true;
        syncDirectory(dir);
        if (displaced != null) {
          old = target.resolveSibling(TMP_PREFIX + displaced.getFileName() + "-old-" + randomSuffix());
          move(displaced, old);
        }
        try {
          move(dir, target);
          committed = true;
        } catch (IOException e) {
          if (old != null) {
            move(old, displaced); // put the old version back
          }
          throw e;
        }
        syncDirectory(target.getParent());
      }
      if (old != null) {
        deleteQuietly(old);
      }
    }

    private void removeHook() {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs (and sees the commit state)
      }
    }

    @Override
    public void close() {
      removeHook();
      synchronized (this) {
        if (!committed && !aborted) {
          deleteQuietly(dir);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------- helpers

  /** A fresh temporary name for {@code name}'s sibling: {@code .tmp-NAME-RANDOM}. */
  private static String tmpName(String name) {
    return TMP_PREFIX + name + "-" + randomSuffix();
  }

  /** Random hex digits for temporary names. */
  public static String randomSuffix() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
  }

  /** Atomic rename (replacing a file target); a clear error where the file system cannot do it atomically. */
  public static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot rename " + from + " to " + to + " atomically (different file systems?)", e);
    }
  }

  /** Removes the temporary siblings of {@code name} ({@code .tmp-NAME-…}) that a killed writer left. */
  public static void removeStale(Path parent, String name) throws IOException {
    try (Stream<Path> s = Files.list(parent)) {
      s.filter(p -> p.getFileName().toString().startsWith(TMP_PREFIX + name + "-")).forEach(AtomicFiles::deleteQuietly);
    }
  }

  /** Deletes a file or a directory tree (not following links); missing is fine; failures are thrown. */
  public static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(p, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
        if (exc instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE;
        }
        throw exc;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        if (exc != null && !(exc instanceof NoSuchFileException)) {
          throw exc;
        }
        Files.deleteIfExists(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** Deletes a file or a directory tree, best effort: for cleanup paths where a failure must not mask another. */
  public static void deleteQuietly(Path p) {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> {
        try {
          Files.deleteIfExists(f);
        } catch (DirectoryNotEmptyException e) {
          // raced with another writer; leave it
        } catch (IOException e) {
          // best effort
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // best effort
    }
  }

  /** Syncs a directory's entries to disk (best effort: not every platform can open a directory). */
  public static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // not supported here; the rename is still atomic
    }
  }

  /** The reason an I/O operation failed, for one-line messages: "no such file or directory", … ({@link ErrorText}). */
  public static String reason(IOException e) {
    return ErrorText.reason(e);
  }
}
