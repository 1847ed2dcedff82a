package io.resttf.util;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.List;
import java.util.Locale;

/**
 * One vocabulary for failures a user can cause: the operating system's reason of an {@link IOException}
 * (Java's exceptions often carry only the path) and TensorFlow's status texts translated to one short
 * line (no node names, no hints, no exception class names).
 */
public final class ErrorText {
  private ErrorText() {}

  /** The OS reasons a user can cause, as TF and the OS spell them, and as we print them. */
  private static final List<String[]> OS_REASONS = List.of(
      new String[] {"no space left on device", "no space left on device"},
      new String[] {"read-only file system", "read-only file system"},
      new String[] {"permission denied", "permission denied"},
      new String[] {"disk quota exceeded", "disk quota exceeded"},
      new String[] {"too many open files", "too many open files"});

  /** Why {@code e} happened, in the OS's words ("permission denied", "read-only file system", ...). */
  public static String reason(IOException e) {
    if (e instanceof AccessDeniedException a && a.getReason() == null) return "permission denied";
    if (e instanceof NoSuchFileException n && n.getReason() == null) return "no such file or directory";
    if (e instanceof FileAlreadyExistsException f && f.getReason() == null) return "already exists";
    if (e instanceof NotDirectoryException) return "not a directory";
    if (e instanceof DirectoryNotEmptyException) return "directory not empty";
    if (e instanceof FileSystemException f && f.getReason() != null) return lowerFirst(f.getReason().strip());
    String m = e.getMessage();
    if (m == null || m.isBlank()) return "input/output error";
    String os = osReason(m);
    return os != null ? os : lowerFirst(m.strip().lines().findFirst().orElse(m));
  }

  /** {@code "<path>: <reason>"} for a file-system failure; the path Java recorded, or {@code fallback}. */
  public static String describe(Object fallback, IOException e) {
    String file = e instanceof FileSystemException f && f.getFile() != null ? f.getFile() : String.valueOf(fallback);
    return file + ": " + reason(e);
  }

  /** The OS reason a text names (no space left, read-only, permission denied, ...), or null. */
  public static String osReason(String text) {
    if (text == null) return null;
    String t = text.toLowerCase(Locale.ROOT);
    for (String[] r : OS_REASONS) if (t.contains(r[0])) return r[1];
    return null;
  }

  /**
   * TensorFlow's status message as one readable line: an OS reason when it names one; otherwise its first
   * line without the {@code [[{{node ...}}]]} references, the "Hint:" tail and the "Op:" suffix.
   */
  public static String tensorFlow(String message) {
    if (message == null || message.isBlank()) return "TensorFlow failed without a message";
    String os = osReason(message);
    if (os != null) return os;
    String t = message.strip();
    int hint = t.indexOf("Hint:");
    if (hint >= 0) t = t.substring(0, hint);
    t = t.replaceAll("\\[\\[[^\\]]*\\]\\]", " ") // [[{{node save/Save}}]] and the like
        .replaceAll("\\{\\{[^}]*\\}\\}", " ")
        .replaceAll("\\s*\\R\\s*", " ")
        .replaceAll("\\s+", " ")
        .strip();
    int op = t.indexOf(" [Op:");
    if (op >= 0) t = t.substring(0, op);
    t = t.replaceAll("[\\s;.,:]+$", "");
    return t.isEmpty() ? "TensorFlow failed without a message" : t;
  }

  private static String lowerFirst(String s) {
    if (s.length() > 1 && Character.isUpperCase(s.charAt(0)) && Character.isLowerCase(s.charAt(1))) {
      return Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }
    return s;
  }
}
