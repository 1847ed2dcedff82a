package io.resttf.convert.pickle;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An inert stand-in for an instance of a class the file names but this reader does not know
 * (argparse.Namespace, numpy scalars, optimizer helpers, ...). It holds what the pickle gave it (constructor
 * arguments, BUILD state, appended items) as plain data and never runs anything. Identity equality only, so
 * it is safe as a map key.
 */
public final class PickleObject {
  private final PickleGlobal type;
  private final Object[] args;
  private Object state;
  private List<Object> listItems;
  private Map<Object, Object> dictItems;

  PickleObject(PickleGlobal type, Object[] args) {
    this.type = type;
    this.args = args == null ? new Object[0] : args;
  }

  public PickleGlobal type() {
    return type;
  }

  Object[] args() {
    return args;
  }

  /** The BUILD state (usually the instance __dict__ as a map), or null. */
  Object state() {
    return state;
  }

  void setState(Object state) {
    this.state = state;
  }

  List<Object> listItems() {
    if (listItems == null) {
      listItems = new ArrayList<>();
    }
    return listItems;
  }

  Map<Object, Object> dictItems() {
    if (dictItems == null) {
      dictItems = new LinkedHashMap<>();
    }
    return dictItems;
  }

  @Override
  public String toString() {
    return "<" + type.qualified() + " object>";
  }
}
