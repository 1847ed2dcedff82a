package io.resttf.util;

import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Writes a directory all at once: the content is built in a hidden sibling ({@code .tmp-NAME-…}) and
 * renamed into place, so readers (users, TF Serving) see either nothing or the whole thing. A JVM
 * shutdown (Ctrl-C) deletes the half-built sibling; one left by a killed process is removed by the next
 * write of the same target.
 */
public final class AtomicDirectory {
  private AtomicDirectory() {}

  /** Builds the content of a directory in the path it is given. */
  @FunctionalInterface
  public interface Builder {
    void build(Path dir) throws IOException;
  }

  /**
   * Creates {@code target} with the content {@code builder} writes. An existing target is refused
   * unless {@code replace}, in which case the old one is swapped out only after the new one is complete.
   */
  public static void write(Path target, boolean replace, Builder builder) {
    target = target.toAbsolutePath().normalize();
    Path parent = target.getParent();
    String name = target.getFileName().toString();
    if (Files.exists(target) && !replace) {
      throw new BadInputException(target + ": already exists (use --force to replace it)");
    }
    try {
      Files.createDirectories(parent);
      removeStale(parent, name);
      Path tmp = parent.resolve(".tmp-" + name + "-" + UUID.randomUUID());
      Thread cleanup = new Thread(() -> deleteQuietly(tmp));
      Runtime.getRuntime().addShutdownHook(cleanup);
      try {
        Files.createDirectory(tmp);
        builder.build(tmp);
        if (Files.exists(target)) {
          Path old = parent.resolve(".tmp-" + name + "-old-" + UUID.randomUUID());
          move(target, old);
          move(tmp, target);
          deleteQuietly(old);
        } else {
          move(tmp, target);
        }
      } finally {
        deleteQuietly(tmp);
        try {
          Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
          // the hook runs anyway
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(target + ": cannot write (" + e.getMessage() + ")", e);
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to);
    }
  }

  /** Removes half-built siblings of {@code name} that a killed process left behind. */
  private static void removeStale(Path parent, String name) throws IOException {
    try (Stream<Path> s = Files.list(parent)) {
      s.filter(p -> p.getFileName().toString().startsWith(".tmp-" + name + "-")).forEach(AtomicDirectory::deleteQuietly);
    }
  }

  public static void deleteQuietly(Path dir) {
    if (!Files.exists(dir)) return;
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
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
}
