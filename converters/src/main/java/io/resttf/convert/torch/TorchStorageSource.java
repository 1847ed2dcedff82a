package io.resttf.convert.torch;

import io.resttf.convert.pickle.TorchStorageRef;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * Where the raw bytes of a torch file's storages live (zip entries or the legacy file's tail), after its
 * pickle has been read. Storages are only read when a tensor of the chosen state_dict needs them.
 */
abstract class TorchStorageSource implements Closeable {
  private final String format;
  /** The byte order of the storages, as the file declares it. */
  protected ByteOrder order = ByteOrder.LITTLE_ENDIAN;
  /** The root storages the pickle declared, by key. */
  protected final Map<String, TorchStorageRef> roots = new HashMap<>();

  TorchStorageSource(String format) {
    this.format = format;
  }

  /** E.g. "torch zip (torch >= 1.6)". */
  final String format() {
    return format;
  }

  final ByteOrder order() {
    return order;
  }

  /** The root storage named {@code key} by the pickle, as declared (dtype, element count, entry name). */
  final TorchStorageRef root(String key) {
    return roots.get(key);
  }

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
  abstract void stream(String key, ByteBuffer buf, ChunkSink sink) throws IOException;
}
