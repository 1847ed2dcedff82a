package io.resttf.convert.pickle;

import java.math.BigInteger;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The allow-list that decides what a pickle may "call". Nothing a file names is ever resolved to code: the
 * handful of torch / collections / builtins functions a checkpoint needs are reimplemented here over plain
 * data, known data classes (numpy scalars, datetime, pathlib, ...) become inert {@link PickleObject}s holding
 * their arguments, and a class instantiated with no arguments (argparse.Namespace and friends, followed by
 * BUILD) becomes an inert placeholder too. Every other call with arguments, and any call at all of a global
 * from a system module (os, subprocess, builtins.eval, ...), is refused with the global's name.
 */
public final class PickleGlobals {
  private PickleGlobals() {}

  @FunctionalInterface
  private interface Call {
    Object apply(PickleGlobal self, Object[] args);
  }

  /** Functions reimplemented over data: the torch tensor rebuilders and a few containers. */
  private static final Map<String, Call> CALLS = Map.ofEntries(
      Map.entry("torch._utils._rebuild_tensor_v2", PickleGlobals::rebuildTensor),
      Map.entry("torch._utils._rebuild_tensor", PickleGlobals::rebuildTensor),
      Map.entry("torch._utils._rebuild_parameter", PickleGlobals::rebuildParameter),
      Map.entry("torch._utils._rebuild_parameter_with_state", PickleGlobals::rebuildParameter),
      Map.entry("torch._tensor._rebuild_from_type_v2", PickleGlobals::rebuildFromType),
      Map.entry("torch._tensor._rebuild_from_type", PickleGlobals::rebuildFromType),
      Map.entry("torch.Size", PickleGlobals::torchSize),
      Map.entry("collections.OrderedDict", PickleGlobals::orderedDict),
      Map.entry("collections.defaultdict", (g, a) -> new PickleDict(g.qualified())),
      Map.entry("builtins.dict", PickleGlobals::orderedDict),
      Map.entry("__builtin__.dict", PickleGlobals::orderedDict),
      Map.entry("builtins.set", PickleGlobals::set),
      Map.entry("__builtin__.set", PickleGlobals::set),
      Map.entry("builtins.frozenset", PickleGlobals::set),
      Map.entry("__builtin__.frozenset", PickleGlobals::set),
      Map.entry("builtins.list", (g, a) -> new ArrayList<>(items(g, a))),
      Map.entry("__builtin__.list", (g, a) -> new ArrayList<>(items(g, a))),
      Map.entry("builtins.tuple", (g, a) -> items(g, a).toArray()),
      Map.entry("__builtin__.tuple", (g, a) -> items(g, a).toArray()),
      Map.entry("builtins.bytearray", PickleGlobals::bytes),
      Map.entry("__builtin__.bytearray", PickleGlobals::bytes),
      Map.entry("builtins.bytes", PickleGlobals::bytes),
      Map.entry("__builtin__.bytes", PickleGlobals::bytes), // protocol 2 names builtins so; b"" pickles as bytes()
      Map.entry("_codecs.encode", PickleGlobals::codecsEncode),
      Map.entry("copyreg._reconstructor", PickleGlobals::reconstructor),
      Map.entry("copy_reg._reconstructor", PickleGlobals::reconstructor),
      Map.entry("copyreg.__newobj__", PickleGlobals::copyregNewobj),
      Map.entry("copy_reg.__newobj__", PickleGlobals::copyregNewobj));

  /** Tensor rebuilders that {@code _rebuild_from_type(_v2)} may delegate to. */
  private static final Set<String> TENSOR_REBUILDERS = Set.of(
      "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
      "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state");

  /** Classes whose instances are pure data: built with arguments into an inert placeholder, nothing run. */
  private static final Set<String> DATA_CLASSES = Set.of(
      "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
      "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
      "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer", "numpy.dtype", "numpy.ndarray",
      "builtins.complex", "__builtin__.complex", "builtins.slice", "__builtin__.slice",
      "builtins.range", "builtins.object", "__builtin__.object",
      "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
      "decimal.Decimal", "fractions.Fraction",
      "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath",
      "pathlib.PurePosixPath", "pathlib.PureWindowsPath",
      "torch.device");

  /** Modules whose globals are never called, not even without arguments (belt and braces). */
  private static final Set<String> SYSTEM_MODULES = Set.of(
      "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy", "code", "codeop",
      "pty", "ctypes", "multiprocessing", "threading", "_thread", "signal", "webbrowser", "pickle", "_pickle",
      "cPickle", "marshal", "shelve", "tempfile", "io", "_io", "urllib", "urllib2", "http", "httplib",
      "ftplib", "smtplib", "telnetlib", "asyncio", "types", "functools", "operator", "_operator", "inspect",
      "pdb", "bdb", "timeit", "trace", "profile", "cProfile", "commands", "popen2", "platform", "glob",
      "zipimport", "pkgutil", "imp", "sysconfig", "venv", "ensurepip", "distutils", "setuptools", "pip",
      "_posixsubprocess", "posixpath", "ntpath", "genericpath", "fcntl", "resource", "gc", "weakref");

  /** The builtins that are plain data types; every other builtin (eval, exec, getattr, open, ...) is refused. */
  private static final Set<String> DATA_BUILTINS = Set.of(
      "object", "dict", "list", "set", "frozenset", "tuple", "bytes", "bytearray", "str", "unicode", "int",
      "long", "float", "complex", "bool", "slice", "range");

  /** REDUCE / INST / OBJ: call {@code callable(*args)}. */
  static Object call(Object callable, Object[] args, String opcode) {
    if (!(callable instanceof PickleGlobal g)) {
      throw new PickleDataException(opcode + " applied to a " + typeName(callable) + ", not to a global");
    }
    Call c = CALLS.get(g.qualified());
    if (c != null) {
      return c.apply(g, args);
    }
    if (DATA_CLASSES.contains(g.qualified())) {
      return new PickleObject(g, args);
    }
    if (isSystem(g)) {
      throw refuse(g, "");
    }
    if (isUnsupportedTensor(g)) {
      throw refuse(g, "; quantized, sparse, nested, meta and device-array tensors are not supported");
    }
    if (args.length == 0) {
      return new PickleObject(g, args); // a class instantiated with no arguments: inert placeholder
    }
    throw new PickleDataException("refused to call global " + g.qualified()
        + " with arguments (not on the allow-list)");
  }

  /** NEWOBJ / NEWOBJ_EX: {@code cls.__new__(cls, *args)}; never runs an initializer. */
  static Object newObject(Object cls, Object[] args, String opcode) {
    if (!(cls instanceof PickleGlobal g)) {
      throw new PickleDataException(opcode + " applied to a " + typeName(cls) + ", not to a class");
    }
    String q = g.qualified();
    if (q.equals("collections.OrderedDict") || q.equals("builtins.dict") || q.equals("collections.defaultdict")) {
      return new PickleDict(q);
    }
    if (q.equals("builtins.list")) {
      return new ArrayList<>();
    }
    if (q.equals("builtins.set") || q.equals("builtins.frozenset")) {
      return set(g, args.length == 0 ? args : new Object[] {args[0]});
    }
    if (isSystem(g) || CALLS.containsKey(q) || isUnsupportedTensor(g)) {
      throw refuse(g, "");
    }
    return new PickleObject(g, args);
  }

  private static PickleDataException refuse(PickleGlobal g, String why) {
    return new PickleDataException("refused to call global " + g.qualified() + " (not on the allow-list" + why
        + ")");
  }

  static boolean isSystem(PickleGlobal g) {
    String m = g.module();
    int dot = m.indexOf('.');
    String top = dot < 0 ? m : m.substring(0, dot);
    if (top.equals("builtins") || top.equals("__builtin__")) {
      return !DATA_BUILTINS.contains(g.name());
    }
    return SYSTEM_MODULES.contains(top) || g.name().contains(".");
  }

  private static boolean isUnsupportedTensor(PickleGlobal g) {
    return (g.module().equals("torch._utils") || g.module().equals("torch._tensor")
        || g.module().equals("torch.storage")) && (g.name().startsWith("_rebuild") || g.name().startsWith("_load"));
  }

  // ---- torch ----

  /** _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]); _rebuild_tensor(4). */
  private static Object rebuildTensor(PickleGlobal g, Object[] a) {
    int min = g.name().equals("_rebuild_tensor") ? 4 : 6;
    if (a.length < min || a.length > 7) {
      throw new PickleDataException(g.qualified() + " called with " + a.length + " arguments");
    }
    if (!(a[0] instanceof TorchStorageRef storage)) {
      throw new PickleDataException(g.qualified() + " called on a " + typeName(a[0]) + ", not on a storage");
    }
    long offset = toLong(a[1], "storage offset");
    long[] size = toLongs(a[2], "size");
    long[] stride = toLongs(a[3], "stride");
    return TorchTensorRef.of(storage, offset, size, stride);
  }

  /** _rebuild_parameter(data, requires_grad, hooks[, state]): the parameter is its tensor. */
  private static Object rebuildParameter(PickleGlobal g, Object[] a) {
    if (a.length < 3 || !(a[0] instanceof TorchTensorRef)) {
      throw new PickleDataException(g.qualified() + " called without a tensor");
    }
    return a[0];
  }

  /** _rebuild_from_type_v2(func, new_type, args, state): a tensor subclass; delegate to a tensor rebuilder. */
  private static Object rebuildFromType(PickleGlobal g, Object[] a) {
    if (a.length == 4 && a[0] instanceof PickleGlobal func && !TENSOR_REBUILDERS.contains(func.qualified())) {
      throw refuse(func, "; _rebuild_from_type may only delegate to a tensor rebuilder");
    }
    if (a.length != 4 || !(a[0] instanceof PickleGlobal func) || !(a[2] instanceof Object[] funcArgs)) {
      throw new PickleDataException(g.qualified() + " called with unexpected arguments");
    }
    return CALLS.get(func.qualified()).apply(func, funcArgs);
  }

  private static Object torchSize(PickleGlobal g, Object[] a) {
    if (a.length != 1) {
      throw new PickleDataException("torch.Size called with " + a.length + " arguments");
    }
    long[] dims = toLongs(a[0], "torch.Size");
    Object[] out = new Object[dims.length];
    for (int i = 0; i < dims.length; i++) {
      out[i] = dims[i];
    }
    return out;
  }

  // ---- containers ----

  private static Object orderedDict(PickleGlobal g, Object[] a) {
    PickleDict d = new PickleDict(g.qualified());
    if (a.length == 0) {
      return d;
    }
    if (a.length == 1 && a[0] instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) {
        d.put(hashable(e.getKey()), e.getValue());
      }
      return d;
    }
    if (a.length == 1) {
      for (Object pair : items(g, a)) {
        List<Object> kv = asList(pair);
        if (kv == null || kv.size() != 2) {
          throw new PickleDataException(g.qualified() + " item is not a (key, value) pair");
        }
        d.put(hashable(kv.get(0)), kv.get(1));
      }
      return d;
    }
    throw new PickleDataException(g.qualified() + " called with " + a.length + " arguments");
  }

  private static Object set(PickleGlobal g, Object[] a) {
    Set<Object> s = new LinkedHashSet<>();
    for (Object o : a.length == 0 ? List.of() : items(g, a)) {
      s.add(hashable(o));
    }
    return s;
  }

  /** The single iterable argument of list(), tuple(), set(), OrderedDict(pairs). */
  private static List<Object> items(PickleGlobal g, Object[] a) {
    if (a.length == 0) {
      return List.of();
    }
    List<Object> l = a.length == 1 ? asList(a[0]) : null;
    if (l == null) {
      throw new PickleDataException(g.qualified() + " called with unexpected arguments");
    }
    return l;
  }

  private static Object bytes(PickleGlobal g, Object[] a) {
    if (a.length == 0) {
      return new byte[0];
    }
    if (a.length == 1 && a[0] instanceof byte[] b) {
      return b.clone();
    }
    if (a.length == 1 && a[0] instanceof List<?> l) {
      byte[] out = new byte[l.size()];
      for (int i = 0; i < out.length; i++) {
        long v = toLong(l.get(i), "byte value");
        if (v < 0 || v > 255) {
          throw new PickleDataException(g.qualified() + " byte value " + v + " out of range");
        }
        out[i] = (byte) v;
      }
      return out;
    }
    if (a.length == 2 && a[0] instanceof String s && a[1] instanceof String enc) {
      return s.getBytes(charset(g, enc));
    }
    // bytearray(n) would allocate n bytes chosen by the file
    throw new PickleDataException(g.qualified() + " called with unexpected arguments");
  }

  /** _codecs.encode(str, 'latin1'): how protocol 2 pickles bytes. */
  private static Object codecsEncode(PickleGlobal g, Object[] a) {
    if (a.length != 2 || !(a[0] instanceof String s) || !(a[1] instanceof String enc)) {
      throw new PickleDataException("_codecs.encode called with unexpected arguments");
    }
    return s.getBytes(charset(g, enc));
  }

  private static Charset charset(PickleGlobal g, String enc) {
    switch (enc.toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
      case "latin1": case "latin-1": case "iso-8859-1": case "iso8859-1":
        return StandardCharsets.ISO_8859_1;
      case "utf-8": case "utf8":
        return StandardCharsets.UTF_8;
      case "ascii": case "us-ascii":
        return StandardCharsets.US_ASCII;
      default:
        throw new PickleDataException(g.qualified() + " with unsupported encoding '" + enc + "'");
    }
  }

  /** copyreg._reconstructor(cls, base, state): protocol 0/1 instantiation; inert placeholder of cls. */
  private static Object reconstructor(PickleGlobal g, Object[] a) {
    if (a.length != 3 || !(a[0] instanceof PickleGlobal cls) || !(a[1] instanceof PickleGlobal)) {
      throw new PickleDataException(g.qualified() + " called with unexpected arguments");
    }
    if (isSystem(cls) || CALLS.containsKey(cls.qualified())) {
      throw refuse(cls, "");
    }
    return new PickleObject(cls, a[2] == null ? new Object[0] : new Object[] {a[2]});
  }

  private static Object copyregNewobj(PickleGlobal g, Object[] a) {
    if (a.length == 0) {
      throw new PickleDataException(g.qualified() + " called without a class");
    }
    return newObject(a[0], Arrays.copyOfRange(a, 1, a.length), g.qualified());
  }

  // ---- helpers ----

  /** Dict keys and set elements must hash cheaply and without recursion: containers are refused. */
  static Object hashable(Object key) {
    if (key instanceof List || key instanceof Map || key instanceof Set) {
      throw new PickleDataException("unhashable " + typeName(key) + " used as a dict key or set element");
    }
    return key;
  }

  public static List<Object> asList(Object o) {
    if (o instanceof Object[] t) {
      return Arrays.asList(t);
    }
    if (o instanceof List<?> l) {
      @SuppressWarnings("unchecked")
      List<Object> cast = (List<Object>) l;
      return cast;
    }
    return null;
  }

  public static long toLong(Object o, String what) {
    if (o instanceof Integer || o instanceof Long || o instanceof Short || o instanceof Byte) {
      return ((Number) o).longValue();
    }
    if (o instanceof BigInteger b) {
      if (b.bitLength() < 64) {
        return b.longValue();
      }
      throw new PickleDataException(what + " " + (b.bitLength() > 256 ? "(huge integer)" : b) + " does not fit in 64 bits");
    }
    throw new PickleDataException(what + " is a " + typeName(o) + ", not an integer");
  }

  static long[] toLongs(Object o, String what) {
    List<Object> l = asList(o);
    if (l == null) {
      throw new PickleDataException(what + " is a " + typeName(o) + ", not a tuple of integers");
    }
    if (l.size() > TorchTensorRef.MAX_RANK) {
      throw new PickleDataException(what + " has " + l.size() + " dimensions");
    }
    long[] out = new long[l.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = toLong(l.get(i), what + " entry");
    }
    return out;
  }

  /** A short Python-ish type name for messages; never renders the value itself. */
  public static String typeName(Object o) {
    if (o == null) {
      return "None";
    } else if (o instanceof String) {
      return "str";
    } else if (o instanceof byte[]) {
      return "bytes";
    } else if (o instanceof Object[]) {
      return "tuple";
    } else if (o instanceof List) {
      return "list";
    } else if (o instanceof PickleDict d) {
      return d.pythonType();
    } else if (o instanceof Map) {
      return "dict";
    } else if (o instanceof Set) {
      return "set";
    } else if (o instanceof Boolean) {
      return "bool";
    } else if (o instanceof Double) {
      return "float";
    } else if (o instanceof Number) {
      return "int";
    } else if (o instanceof PickleObject p) {
      return p.type().qualified() + " object";
    } else if (o instanceof PickleGlobal g) {
      return "global " + g.qualified();
    } else if (o instanceof TorchTensorRef) {
      return "tensor";
    } else if (o instanceof TorchStorageRef) {
      return "storage";
    } else if (o.getClass() == Object.class) {
      return "MARK";
    }
    return o.getClass().getSimpleName();
  }
}
