package io.resttf.training.tfrecord;

import io.resttf.tensor.BadInputException;
import io.resttf.util.AtomicFiles;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.NoSuchElementException;
import java.util.zip.CRC32C;

/**
 * TFRecord files, the framing TensorFlow's {@code TFRecordWriter} / {@code TFRecordDataset} use (uncompressed):
 * per record, the length as uint64 little-endian, the masked CRC32C of those 8 bytes, the data, the masked
 * CRC32C of the data; a masked CRC is ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (tensorflow/core/lib/hash/crc32c.h).
 * Both CRCs are checked on read: a damaged record is refused with the file and the record's index.
 */
public final class TfRecords {
  private TfRecords() {}

  /** Records longer than this are refused before anything is allocated (a damaged length field). */
  public static final long MAX_RECORD_BYTES = 1L << 30;

  static int masked(byte[] data, int off, int len) {
    CRC32C crc = new CRC32C();
    crc.update(data, off, len);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + 0xa282ead8;
  }

  /** Writes records to one file, atomically: the file appears complete at {@link #close}, or not at all. */
  public static final class Writer implements Closeable {
    private final Path target;
    private final Path tmp;
    private final OutputStream out;
    private long records;
    private boolean done;

    public Writer(Path file) throws IOException {
      this.target = file;
      this.tmp = file.resolveSibling(AtomicFiles.TMP_PREFIX + file.getFileName() + "-" + AtomicFiles.randomSuffix());
      this.out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
    }

    public void write(byte[] data) throws IOException {
      byte[] header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length).array();
      ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(8, masked(header, 0, 8));
      out.write(header);
      out.write(data);
      out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(masked(data, 0, data.length)).array());
      records++;
    }

    public long records() {
      return records;
    }

    /** Flushes, syncs and renames the file into place. */
    @Override
    public void close() throws IOException {
      if (done) return;
      done = true;
      try {
        out.close();
        try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
          ch.force(true);
        }
        AtomicFiles.move(tmp, target);
      } finally {
        AtomicFiles.deleteQuietly(tmp);
      }
    }

    /** Drops what was written (an error happened): no file appears. */
    public void abandon() {
      done = true;
      try {
        out.close();
      } catch (IOException e) {
        // the file is deleted anyway
      }
      AtomicFiles.deleteQuietly(tmp);
    }
  }

  /** Reads the records of one file in order, checking both CRCs of each. */
  public static final class Reader implements Closeable, java.util.Iterator<byte[]> {
    private final Path file;
    private final InputStream in;
    private long index;
    private byte[] next;

    public Reader(Path file) {
      this.file = file;
      try {
        this.in = new BufferedInputStream(Channels.newInputStream(java.nio.channels.FileChannel.open(file)), 1 << 16);
      } catch (NoSuchFileException e) {
        throw new BadInputException(file + ": no such file");
      } catch (IOException e) {
        throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")");
      }
    }

    @Override
    public boolean hasNext() {
      if (next == null) next = read();
      return next != null;
    }

    @Override
    public byte[] next() {
      if (!hasNext()) throw new NoSuchElementException();
      byte[] r = next;
      next = null;
      index++;
      return r;
    }

    /** Index of the record {@link #next} returns next (0-based). */
    public long index() {
      return index;
    }

    private byte[] read() {
      try {
        byte[] header = new byte[12];
        int got = in.readNBytes(header, 0, 12);
        if (got == 0) return null;
        if (got < 12) throw bad("truncated record header (" + got + " of 12 bytes)");
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        long length = h.getLong(0);
        if (h.getInt(8) != masked(header, 0, 8)) throw bad("corrupted record length (CRC mismatch)");
        if (length < 0 || length > MAX_RECORD_BYTES) throw bad("record length " + Long.toUnsignedString(length) + " is over the "
            + MAX_RECORD_BYTES + "-byte limit");
        byte[] data = new byte[(int) length];
        if (in.readNBytes(data, 0, data.length) < data.length) throw bad("truncated record data");
        byte[] crc = in.readNBytes(4);
        if (crc.length < 4) throw bad("truncated record (no data CRC)");
        if (ByteBuffer.wrap(crc).order(ByteOrder.LITTLE_ENDIAN).getInt() != masked(data, 0, data.length)) {
          throw bad("corrupted record data (CRC mismatch)");
        }
        return data;
      } catch (EOFException e) {
        throw bad("truncated");
      } catch (IOException e) {
        throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")");
      }
    }

    private BadInputException bad(String why) {
      return new BadInputException(file + ": record " + index + ": " + why);
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
