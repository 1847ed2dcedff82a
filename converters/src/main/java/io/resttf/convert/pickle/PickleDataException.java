package io.resttf.convert.pickle;

/**
 * A pickle stream (or the torch structure inside it) is malformed, forged or asks for something the safe
 * unpickler refuses. Internal to the readers: they turn it into a {@link io.resttf.tensor.BadInputException}
 * that names the file and the entry ({@link #entry()}, or the pickle being read when that is null).
 */
public final class PickleDataException extends RuntimeException {
  private final String entry;

  public PickleDataException(String message) {
    this(null, message);
  }

  public PickleDataException(String entry, String message) {
    super(message);
    this.entry = entry;
  }

  /** The file entry (zip entry name or legacy storage) the problem is in, or null for "the current pickle". */
  public String entry() {
    return entry;
  }
}
