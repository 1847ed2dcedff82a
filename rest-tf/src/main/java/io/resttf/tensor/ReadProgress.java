package io.resttf.tensor;

/** Told how many bytes of tensor data a reader has read so far, of how many (e.g. for a progress bar). */
@FunctionalInterface
public interface ReadProgress {
  void bytesRead(long done, long total);
}
