package io.resttf.testing;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Graph-form switches (system properties such as resttf.splitBlocks) set for one body, then put back as they were. */
public final class SystemProperties {
  private SystemProperties() {}

  /** Runs {@code body} with {@code values} set; every property is restored (or cleared) afterwards. */
  public static <T> T with(Map<String, String> values, Supplier<T> body) {
    Map<String, String> old = new LinkedHashMap<>();
    values.keySet().forEach(k -> old.put(k, System.getProperty(k)));
    values.forEach(System::setProperty);
    try {
      return body.get();
    } finally {
      old.forEach((k, v) -> {
        if (v == null) System.clearProperty(k); else System.setProperty(k, v);
      });
    }
  }

  /** As {@link #with(Map, Supplier)}, for a body without a result. */
  public static void run(Map<String, String> values, Runnable body) {
    with(values, () -> {
      body.run();
      return null;
    });
  }
}
