package io.resttf.convert.torch;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Test helpers: the synthetic files under resources/pth, torch-style zips built in tests, message checks. */
public final class TorchTestFiles {
  private TorchTestFiles() {}

  /** Where make_pth.py's hostile pickles would write if they ever ran. */
  static final Path PYTHON_MARKER = Path.of("/tmp/resttf_pwned_marker");

  static Path resource(String name) {
    try {
      return Path.of(TorchTestFiles.class.getResource("/pth/" + name).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("test resource pth/" + name + " missing", e);
    }
  }

  /** A torch.save-style zip: {@code <root>/data.pkl}, {@code <root>/data/<key>}, STORED entries. */
  public static Path writeZip(Path file, String root, byte[] pickle, Map<String, byte[]> storages) {
    try (OutputStream os = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(os)) {
      stored(z, root + "/data.pkl", pickle);
      stored(z, root + "/byteorder", "little".getBytes());
      for (Map.Entry<String, byte[]> e : storages.entrySet()) {
        stored(z, root + "/data/" + e.getKey(), e.getValue());
      }
      stored(z, root + "/version", "3\n".getBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  public static void stored(ZipOutputStream z, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    z.putNextEntry(e);
    z.write(data);
    z.closeEntry();
  }

  /** The message is one non-empty line that starts with the file's path. */
  public static void assertOneLine(BadInputException e, Path file) {
    String m = e.getMessage();
    assertTrue(m != null && !m.isBlank(), "empty message");
    assertFalse(m.contains("\n") || m.contains("\r"), () -> "multi-line message: " + m);
    assertTrue(m.startsWith(file.toString() + ":"), () -> "message does not start with the file: " + m);
  }
}
