package io.resttf.convert.pickle;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Python dict or collections.OrderedDict: items in insertion (file) order, plus the instance attributes a
 * BUILD may set (torch state_dicts carry {@code _metadata} that way). BUILD never touches the items, unlike a
 * generic {@code __setstate__}, which would replace them.
 */
final class PickleDict extends LinkedHashMap<Object, Object> {
  private static final long serialVersionUID = 1L;
  private final String pythonType;
  private Map<Object, Object> attributes;

  PickleDict(String pythonType) {
    this.pythonType = pythonType;
  }

  /** "dict", "collections.OrderedDict", ... */
  String pythonType() {
    return pythonType;
  }

  /** Attributes set by BUILD (e.g. {@code _metadata}); never null. */
  Map<Object, Object> attributes() {
    if (attributes == null) {
      attributes = new LinkedHashMap<>();
    }
    return attributes;
  }

  // Identity semantics: content hashing of user data could recurse deeply or take exponential time.
  @Override
  public boolean equals(Object o) {
    return this == o;
  }

  @Override
  public int hashCode() {
    return System.identityHashCode(this);
  }
}
