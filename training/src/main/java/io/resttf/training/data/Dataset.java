package io.resttf.training.data;

import java.util.List;

/**
 * Labelled images, addressed by index. Implementations must be safe to read from several threads.
 */
public interface Dataset {
  int size();

  /** Class names in label order. */
  List<String> classes();

  /** Label of sample {@code i} (known without decoding). */
  int label(int i);

  /** Decodes sample {@code i}; {@link DecodeException} when it cannot be read or decoded. */
  Image image(int i) throws DecodeException;

  /** Where sample {@code i} comes from, for messages (a file path, "train[123]"). */
  String describe(int i);

  /** A sample that could not be read or decoded. */
  final class DecodeException extends Exception {
    public DecodeException(String message) {
      super(message);
    }
  }
}
