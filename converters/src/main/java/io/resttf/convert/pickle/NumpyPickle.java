package io.resttf.convert.pickle;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A plain pickle of numpy arrays, as detectron2 writes its {@code .pkl} checkpoints ({@code {'model': {name:
 * ndarray}, '__author__': ...}}, or the name → array dict itself). Read with the same allow-listed unpickler
 * as torch files (nothing the file names is run; persistent ids are refused); every array becomes a
 * {@link HostTensor} through {@link NumpyArrays}.
 */
public final class NumpyPickle {
  private NumpyPickle() {}

  /** The state_dict and where it was found ("['model']" or "plain dict"). */
  public record Contents(LinkedHashMap<String, HostTensor> stateDict, String wrapper, int protocol) {}

  /** Whether {@code head} (the first bytes of a file) starts a plain pickle that is no legacy torch file. */
  public static boolean looksLikePickle(byte[] head) {
    if (head.length < 3 || (head[0] & 0xff) != 0x80 || head[1] < 2 || head[1] > 5) return false;
    return (head[2] & 0xff) != 0x8a; // legacy torch files start with the magic number, a LONG1
  }

  /** @throws BadInputException naming the file for anything that is not such a pickle */
  public static Contents read(Path file) {
    long size;
    int protocol;
    Object top;
    try (InputStream raw = Files.newInputStream(file); InputStream in = new BufferedInputStream(raw, 1 << 16)) {
      size = Files.size(file);
      in.mark(2);
      in.read();
      protocol = in.read();
      in.reset();
      top = new TorchUnpickler(null).read(new PickleSource(in, 0, size));
    } catch (NoSuchFileException e) {
      throw new BadInputException(file + ": no such file");
    } catch (PickleDataException e) {
      throw new BadInputException(file + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")", e);
    }
    if (!(top instanceof Map<?, ?> map)) {
      throw new BadInputException(file + ": the pickle holds a " + PickleGlobals.typeName(top)
          + ", not a dict of numpy arrays");
    }
    Map<?, ?> sd = map;
    String wrapper = "plain dict";
    if (map.get("model") instanceof Map<?, ?> inner) {
      sd = inner;
      wrapper = "['model']";
    }
    LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : sd.entrySet()) {
      if (!(e.getKey() instanceof String k)) {
        throw new BadInputException(file + ": a key is a " + PickleGlobals.typeName(e.getKey()) + ", not a string");
      }
      if (!NumpyArrays.isArray(e.getValue())) {
        if (wrapper.equals("plain dict")) continue; // e.g. '__author__' beside the arrays
        throw new BadInputException(file + ": " + k + " is a " + PickleGlobals.typeName(e.getValue()) + ", not a numpy array");
      }
      try {
        out.put(k, NumpyArrays.toHost(e.getValue(), k));
      } catch (PickleDataException ex) {
        throw new BadInputException(file + ": " + ex.getMessage(), ex);
      }
    }
    if (out.isEmpty()) {
      throw new BadInputException(file + ": no numpy arrays found (top-level entries: " + map.keySet().stream()
          .limit(10).map(String::valueOf).toList() + ")");
    }
    return new Contents(out, wrapper, protocol);
  }
}
