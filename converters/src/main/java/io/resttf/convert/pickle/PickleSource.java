package io.resttf.convert.pickle;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The byte stream an unpickler reads, with its exact length known, so that every length field in the pickle
 * can be checked against the bytes that really remain before anything is allocated. Also tracks the position
 * (the legacy torch format continues with raw storage data right after the last pickle).
 */
public final class PickleSource extends InputStream {
  private final InputStream in;
  private final long length;
  private long position;

  /** {@code in} positioned at {@code startPosition}; the stream has {@code length} bytes in all. */
  public PickleSource(InputStream in, long startPosition, long length) {
    this.in = in;
    this.position = startPosition;
    this.length = length;
  }

  public long position() {
    return position;
  }

  long remaining() {
    return Math.max(0, length - position);
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b >= 0) {
      position++;
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n > 0) {
      position += n;
    }
    return n;
  }

  /** Reads exactly {@code n} bytes, refusing lengths beyond what remains (forged length fields). */
  byte[] readExact(long n, String what) throws IOException {
    if (n < 0 || n > remaining()) {
      throw new PickleDataException(
          what + " claims " + n + " bytes but only " + remaining() + " remain in the pickle");
    }
    byte[] out = new byte[(int) n];
    int off = 0;
    while (off < out.length) {
      int r = read(out, off, out.length - off);
      if (r < 0) {
        throw new EOFException("pickle ends inside " + what);
      }
      off += r;
    }
    return out;
  }

  /** Reads a little-endian unsigned length of {@code width} bytes (1, 4 or 8). */
  long readLength(int width) throws IOException {
    byte[] b = readExact(width, "a length field");
    long v = 0;
    for (int i = width - 1; i >= 0; i--) {
      v = (v << 8) | (b[i] & 0xff);
    }
    return v;
  }

  /** A text line (protocol 0 argument) without its newline, at most {@code max} characters. */
  String readLine(int max) throws IOException {
    StringBuilder sb = new StringBuilder();
    while (true) {
      int c = read();
      if (c < 0) {
        throw new EOFException("pickle ends inside a text line");
      }
      if (c == '\n') {
        return sb.toString();
      }
      if (sb.length() >= max) {
        throw new PickleDataException("text argument longer than " + max + " characters");
      }
      sb.append((char) c);
    }
  }
}
