package io.resttf.convert.pickle;

/**
 * A global ({@code module.name}) that a pickle named with GLOBAL, STACK_GLOBAL, INST or OBJ. It is only a
 * name: the safe unpickler never resolves it to Java or Python code; calling it goes through the allow-list
 * in {@link PickleGlobals}.
 */
public record PickleGlobal(String module, String name) {
  public String qualified() {
    return module + "." + name;
  }

  @Override
  public String toString() {
    return qualified();
  }
}
