package io.resttf.convert.torch;

import java.nio.file.Path;

/** Which file, and which part of it, is being read: for one-line error messages. */
final class TorchReadContext {
  final Path file;
  final long fileSize;
  /** The zip entry or legacy section being read; null before the first. */
  String entry;

  TorchReadContext(Path file, long fileSize) {
    this.file = file;
    this.fileSize = fileSize;
  }
}
