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

  /**
   * The encoded image file of sample {@code i} (its PNG / JPEG / … bytes), for pipelines that decode in-graph
   * (a SavedModel's classify_images); {@link DecodeException} where it cannot be read. Datasets that hold
   * pixels, not files (Fashion-MNIST's IDX), have none.
   */
  default byte[] encoded(int i) throws DecodeException {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " holds pixels, not encoded images");
  }

  /** A sample that could not be read or decoded. */
  final class DecodeException extends Exception {
    public DecodeException(String message) {
      super(message);
    }
  }
}
