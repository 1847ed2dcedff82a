package io.resttf.serving;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Finds NaN and infinite values in weights (refused by export and convert: a model holding them serves NaN
 * scores) and in outputs (where forward and run warn).
 */
public final class NonFiniteWeights {
  private NonFiniteWeights() {}

  /** Keys named in a refusal; the count says how many more. */
  static final int LISTED = 3;

  /** Non-finite values per key, in {@code tensors}' order, for the floating-point tensors that hold any. */
  public static Map<String, Long> count(Map<String, HostTensor> tensors) {
    Map<String, Long> found = new LinkedHashMap<>();
    for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
      long n = count(e.getValue());
      if (n > 0) found.put(e.getKey(), n);
    }
    return found;
  }

  /** NaN and infinite values in one tensor (0 for integer tensors). */
  public static long count(HostTensor t) {
    if (t == null || !t.isFloating()) return 0;
    long n = 0;
    if (t.dtype().equals("F64")) {
      for (double v : t.toDoubles()) if (!Double.isFinite(v)) n++;
    } else {
      for (float v : t.toFloats()) if (!Float.isFinite(v)) n++;
    }
    return n;
  }

  /**
   * Refuses {@code stateDict} when a tensor holds NaN or infinite values, naming the first keys;
   * {@code howToAllow} ends the message (the flag or option that exports them anyway).
   */
  public static void refuse(Map<String, HostTensor> stateDict, String howToAllow) {
    Map<String, Long> found = count(stateDict);
    if (found.isEmpty()) return;
    throw new BadInputException("weights: " + found.size() + " tensors hold NaN or infinite values: "
        + describe(found) + " " + howToAllow);
  }

  /** "key (3 values), key2 (1 value), … and 4 more". */
  public static String describe(Map<String, Long> found) {
    StringBuilder s = new StringBuilder();
    int i = 0;
    for (Map.Entry<String, Long> e : found.entrySet()) {
      if (i == LISTED) {
        s.append(" and ").append(found.size() - LISTED).append(" more");
        break;
      }
      if (i++ > 0) s.append(", ");
      s.append(e.getKey()).append(" (").append(e.getValue()).append(e.getValue() == 1 ? " value)" : " values)");
    }
    return s.toString();
  }
}
