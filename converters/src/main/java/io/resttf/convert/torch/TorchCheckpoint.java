package io.resttf.convert.torch;

import io.resttf.convert.pickle.PickleDataException;
import io.resttf.convert.pickle.PickleGlobals;
import io.resttf.convert.pickle.PickleObject;
import io.resttf.convert.pickle.TorchTensorRef;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.ReadProgress;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A state_dict read from a {@code torch.save} file, in pure Java and without running anything the file names.
 *
 * <p>Both formats are read: zip (torch >= 1.6) and legacy (torch < 1.6). The state_dict may be the whole file
 * or wrapped, as {@code {'model': sd}}, {@code {'model_ema': sd}} ({@code ema}), {@code {'state_dict': sd}} or
 * a training checkpoint whose other entries (optimizer state, epoch, an argparse.Namespace, numpy scalars)
 * are read as inert data and ignored; DataParallel {@code module.} prefixes are stripped. Tensors are
 * materialised only for the chosen state_dict. Float16/bfloat16 become float32 exactly, float64 stays
 * double ({@link HostTensor#ofDoubles}), integers and bools become longs; {@link HostTensor#dtype()} says
 * what the file held.
 *
 * @param stateDict    tensors in file order, keys without {@code module.} prefixes
 * @param wrapper      how the state_dict was found, e.g. "plain state_dict", "['model']",
 *                     "['state_dict'], 'module.' prefixes stripped"
 * @param hasEma       whether the file also holds EMA weights ({@code model_ema} / {@code state_dict_ema})
 * @param otherEntries the wrapper's other top-level keys (e.g. epoch, optimizer, args)
 * @param format       "torch zip (torch >= 1.6)" or "torch legacy (torch < 1.6)"
 */
public record TorchCheckpoint(LinkedHashMap<String, HostTensor> stateDict, String wrapper, boolean hasEma,
    List<String> otherEntries, String format) {

  private static final List<String> EMA_KEYS = List.of("model_ema", "state_dict_ema");
  private static final List<String> MODEL_KEYS = List.of("model", "state_dict", "model_state_dict");
  private static final String PREFIX = "module.";

  /**
   * Reads {@code file}. {@code ema} picks the EMA weights of a training checkpoint. {@code progress} (may be
   * null) hears about storage bytes as they are read.
   *
   * @throws BadInputException for anything wrong with the file (one line naming the file and the entry)
   */
  public static TorchCheckpoint read(Path file, boolean ema, ReadProgress progress) {
    TorchReadContext ctx;
    try {
      ctx = new TorchReadContext(file, Files.size(file));
    } catch (NoSuchFileException e) {
      throw new BadInputException(file + ": no such file");
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read (" + oneLine(e.getMessage()) + ")", e);
    }
    try {
      return readChecked(ctx, ema, progress);
    } catch (BadInputException e) {
      throw e;
    } catch (PickleDataException e) {
      throw bad(ctx, e.entry() != null ? e.entry() : ctx.entry, e.getMessage(), null);
    } catch (java.util.zip.ZipException e) {
      throw bad(ctx, ctx.entry, "corrupt zip data (" + e.getMessage() + ")", e);
    } catch (IOException | RuntimeException e) {
      throw bad(ctx, ctx.entry, "malformed or truncated (" + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")", e);
    } catch (StackOverflowError e) {
      throw bad(ctx, ctx.entry, "structure nested too deeply", null);
    }
  }

  private static TorchCheckpoint readChecked(TorchReadContext ctx, boolean ema,
      ReadProgress progress) throws IOException {
    if (Files.isDirectory(ctx.file)) {
      throw new BadInputException(ctx.file + ": is a directory, not a checkpoint file");
    }
    Object[] top = new Object[1];
    try (TorchStorageSource src = isZip(ctx.file) ? TorchZipSource.open(ctx, top) : TorchLegacySource.open(ctx, top)) {
      ctx.entry = null;
      Chosen c = choose(ctx, top[0], ema);
      LinkedHashMap<String, HostTensor> sd = TorchMaterializer.materialize(c.keys, c.refs, src, ctx, progress);
      return new TorchCheckpoint(sd, c.wrapper, c.hasEma, List.copyOf(c.other), src.format());
    }
  }

  static boolean isZip(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] b = in.readNBytes(4);
      return b.length == 4 && b[0] == 'P' && b[1] == 'K' && (b[2] == 3 || b[2] == 5) && (b[3] == 4 || b[3] == 6);
    }
  }

  private record Chosen(List<String> keys, List<TorchTensorRef> refs, String wrapper, boolean hasEma,
      List<String> other) {}

  /** Finds the state_dict in the unpickled object and strips DataParallel prefixes. */
  private static Chosen choose(TorchReadContext ctx, Object top, boolean ema) {
    if (!(top instanceof Map<?, ?> map)) {
      String what = top instanceof PickleObject o
          ? "a pickled " + o.type().qualified() + " object (a whole model?)" : "a " + PickleGlobals.typeName(top);
      throw bad(ctx, null, "holds " + what + ", not a state_dict or a dict wrapping one", null);
    }
    String emaKey = firstKey(map, EMA_KEYS);
    Map<?, ?> sd;
    String wrapper;
    String chosenKey = null;
    if (ema) {
      if (emaKey == null) {
        throw bad(ctx, null, "EMA weights were asked for but the checkpoint has no 'model_ema' entry (it holds "
            + (isStateDict(map) ? "a plain state_dict" : "entries " + describeKeys(map)) + ")", null);
      }
      chosenKey = emaKey;
    } else if (!isStateDict(map)) {
      chosenKey = firstKey(map, MODEL_KEYS);
      if (chosenKey == null && emaKey != null) {
        throw bad(ctx, null, "the checkpoint holds only EMA weights ('" + emaKey + "'); ask for the EMA weights"
            + " to read them (entries: " + describeKeys(map) + ")", null);
      }
      if (chosenKey == null) {
        throw bad(ctx, null, "no state_dict found: top-level entries are " + describeKeys(map)
            + " (expected tensors, or 'model' / 'state_dict' / 'model_ema')", null);
      }
    }
    if (chosenKey == null) {
      sd = map;
      wrapper = "plain state_dict";
    } else {
      Object inner = map.get(chosenKey);
      if (!(inner instanceof Map<?, ?> m) || countTensors(m) == 0) {
        throw bad(ctx, null, "entry '" + chosenKey + "' is a " + PickleGlobals.typeName(inner)
            + ", not a state_dict of tensors", null);
      }
      sd = m;
      wrapper = "['" + chosenKey + "']";
    }
    List<String> keys = new ArrayList<>();
    List<TorchTensorRef> refs = new ArrayList<>();
    boolean stripped = false;
    Set<String> seen = new HashSet<>();
    for (Map.Entry<?, ?> e : sd.entrySet()) {
      if (!(e.getValue() instanceof TorchTensorRef t)) {
        continue; // e.g. _extra_state; a plain state_dict has none (isStateDict)
      }
      if (!(e.getKey() instanceof String k)) {
        throw bad(ctx, null, "state_dict key is a " + PickleGlobals.typeName(e.getKey()) + ", not a string", null);
      }
      if (k.startsWith(PREFIX)) {
        k = k.substring(PREFIX.length());
        stripped = true;
      }
      if (!seen.add(k)) {
        throw bad(ctx, null, "state_dict key '" + k + "' appears twice (with and without the 'module.' prefix)", null);
      }
      keys.add(k);
      refs.add(t);
    }
    if (stripped) {
      wrapper += ", 'module.' prefixes stripped";
    }
    List<String> other = new ArrayList<>();
    if (chosenKey != null) {
      for (Object k : map.keySet()) {
        if (!chosenKey.equals(k)) {
          other.add(String.valueOf(k instanceof String ? k : PickleGlobals.typeName(k)));
        }
      }
    }
    return new Chosen(keys, refs, wrapper, emaKey != null, other);
  }

  private static boolean isStateDict(Map<?, ?> m) {
    return !m.isEmpty() && countTensors(m) == m.size();
  }

  private static int countTensors(Map<?, ?> m) {
    int n = 0;
    for (Object v : m.values()) {
      if (v instanceof TorchTensorRef) {
        n++;
      }
    }
    return n;
  }

  private static String firstKey(Map<?, ?> m, List<String> candidates) {
    for (String k : candidates) {
      if (m.containsKey(k)) {
        return k;
      }
    }
    return null;
  }

  private static String describeKeys(Map<?, ?> m) {
    StringBuilder sb = new StringBuilder("[");
    int i = 0;
    for (Object k : m.keySet()) {
      if (i > 0) {
        sb.append(", ");
      }
      if (i++ == 12) {
        sb.append("... ").append(m.size() - 12).append(" more");
        break;
      }
      String s = k instanceof String str ? str : PickleGlobals.typeName(k);
      sb.append(s.length() > 60 ? s.substring(0, 60) + "..." : s);
    }
    return sb.append("]").toString();
  }

  private static BadInputException bad(TorchReadContext ctx, String entry, String message, Throwable cause) {
    String where = entry == null ? "" : "entry " + entry + ": ";
    return new BadInputException(oneLine(ctx.file + ": " + where + message), cause);
  }

  /**
   * Whether a file starting with {@code head} can be a legacy (pre-1.6, non-zip) torch file; for format
   * detection, which sees only the first bytes.
   */
  public static boolean looksLegacy(byte[] head) {
    return TorchLegacySource.looksLegacy(head);
  }

  /** Messages are single lines of bounded length, whatever a forged file put into them. */
  public static String oneLine(String s) {
    if (s == null) {
      return "";
    }
    String t = s.replaceAll("[\\r\\n\\t\\p{Cntrl}]+", " ").trim();
    return t.length() > 400 ? t.substring(0, 400) + "..." : t;
  }
}
