package io.resttf.convert;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteOrder;
import java.util.function.LongConsumer;

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

  /**
   * Fills {@code dest} (exactly the root storage's bytes) from the file, reporting each chunk's size to
   * {@code chunkRead}; throws if the file holds fewer bytes.
   */
  void read(String key, byte[] dest, LongConsumer chunkRead) throws IOException;
}
