package io.resttf.convert.torch;

import io.resttf.convert.pickle.TorchStorageRef;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Where the raw bytes of a torch file's storages live (zip entries or the legacy file's tail), after its
 * pickle has been read. Storages are only read when a tensor of the chosen state_dict needs them.
 */
interface TorchStorageSource extends Closeable {
  /** E.g. "torch zip (torch >= 1.6)". */
  String format();

  ByteOrder order();

  /** The root storage named {@code key} by the pickle, as declared (dtype, element count, entry name). */
  TorchStorageRef root(String key);

  /** Receives a storage's bytes one chunk at a time. */
  @FunctionalInterface
  interface ChunkSink {
    /**
     * {@code chunk} holds the storage's bytes from byte {@code offset} on, from index 0 to its limit; the sink
     * must not keep it (the buffer is refilled for the next chunk).
     */
    void accept(ByteBuffer chunk, long offset) throws IOException;
  }

  /**
   * Streams exactly the root storage's bytes through {@code buf} (whose capacity is a multiple of 8): every
   * chunk but the last fills the buffer, so chunks hold whole elements. Throws if the file holds fewer bytes.
   */
  void stream(String key, ByteBuffer buf, ChunkSink sink) throws IOException;
}
