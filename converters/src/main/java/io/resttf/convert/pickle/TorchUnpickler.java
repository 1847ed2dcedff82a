package io.resttf.convert.pickle;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

/**
 * Pyrolite's {@link Unpickler}, made safe for untrusted torch files. Pyrolite runs the plain data opcodes
 * (numbers, strings, tuples, lists, memo, protocol/frame); this subclass takes over every opcode that names or
 * calls a global (GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ, NEWOBJ_EX, BUILD), so Pyrolite's
 * constructor registry and its reflective ClassDict fallback are never reached and nothing is instantiated by
 * reflection: calls go through {@link PickleGlobals}. It also takes over dict, set and append opcodes (ordered
 * dicts, BUILD that keeps an OrderedDict's items, no hashing of containers) and every opcode with a length
 * field, which is checked against the bytes that really remain before anything is allocated.
 */
public final class TorchUnpickler extends Unpickler {
  private static final int MAX_NAME = 1024;
  private static final int MAX_NUMBER_TEXT = 4300; // Python's default int max str digits
  private static final int MAX_LONG_BYTES = 4096;

  private final Function<Object, Object> persistentLoader;
  private PickleSource src;

  /** {@code persistentLoader} resolves persistent ids (torch storages); null refuses them. */
  public TorchUnpickler(Function<Object, Object> persistentLoader) {
    this.persistentLoader = persistentLoader;
  }

  /** Reads one pickle (up to and including its STOP opcode) from {@code source}. */
  public Object read(PickleSource source) throws IOException {
    this.src = source;
    try {
      return load(source);
    } catch (PickleDataException e) {
      throw e;
    } catch (StringIndexOutOfBoundsException e) {
      throw new PickleDataException("malformed pickle (bad text escape)");
    } catch (IndexOutOfBoundsException e) {
      throw new PickleDataException("malformed pickle (stack underflow or missing MARK)");
    } catch (NegativeArraySizeException e) {
      throw new PickleDataException("pickle is truncated");
    } catch (java.io.EOFException e) {
      throw new PickleDataException("pickle is truncated (" + e.getMessage() + ")");
    } catch (IOException e) {
      if ("premature end of file".equals(e.getMessage()) || "expected more bytes in input stream".equals(e.getMessage())) {
        throw new PickleDataException("pickle is truncated (" + e.getMessage() + ")");
      }
      throw e;
    } catch (net.razorvine.pickle.PickleException e) {
      throw new PickleDataException("malformed pickle (" + e.getMessage() + ")");
    } catch (ClassCastException | NumberFormatException e) {
      throw new PickleDataException("malformed pickle (" + e.getClass().getSimpleName() + ")");
    }
  }

  @Override
  protected Object persistentLoad(Object pid) {
    if (persistentLoader == null) {
      throw new PickleDataException("unexpected persistent id in this pickle");
    }
    return persistentLoader.apply(pid);
  }

  @Override
  protected Object dispatch(short key) throws IOException {
    switch (key) {
      case 'c': // GLOBAL
        stack.add(new PickleGlobal(src.readLine(MAX_NAME), src.readLine(MAX_NAME)));
        break;
      case 0x93: { // STACK_GLOBAL
        Object name = stack.pop();
        Object module = stack.pop();
        if (!(module instanceof String m) || !(name instanceof String n)) {
          throw new PickleDataException("STACK_GLOBAL with non-string module or name");
        }
        stack.add(new PickleGlobal(m, n));
        break;
      }
      case 'i': { // INST module\nname\n, args since mark
        PickleGlobal g = new PickleGlobal(src.readLine(MAX_NAME), src.readLine(MAX_NAME));
        stack.add(PickleGlobals.call(g, stack.pop_all_since_marker().toArray(), "INST"));
        break;
      }
      case 'o': { // OBJ: callable and args since mark
        List<Object> all = stack.pop_all_since_marker();
        if (all.isEmpty()) {
          throw new PickleDataException("OBJ without a class");
        }
        stack.add(PickleGlobals.call(all.get(0), all.subList(1, all.size()).toArray(), "OBJ"));
        break;
      }
      case 'R': { // REDUCE
        Object args = stack.pop();
        Object callable = stack.pop();
        stack.add(PickleGlobals.call(callable, tuple(args, "REDUCE"), "REDUCE"));
        break;
      }
      case 0x81: { // NEWOBJ
        Object args = stack.pop();
        Object cls = stack.pop();
        stack.add(PickleGlobals.newObject(cls, tuple(args, "NEWOBJ"), "NEWOBJ"));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        Object kwargs = stack.pop();
        Object args = stack.pop();
        Object cls = stack.pop();
        Object[] a = tuple(args, "NEWOBJ_EX");
        if (kwargs instanceof Map<?, ?> kw && !kw.isEmpty()) {
          Object[] withKw = java.util.Arrays.copyOf(a, a.length + 1);
          withKw[a.length] = kwargs;
          a = withKw;
        }
        stack.add(PickleGlobals.newObject(cls, a, "NEWOBJ_EX"));
        break;
      }
      case 'b': { // BUILD
        Object state = stack.pop();
        build(stack.peek(), state);
        break;
      }
      case '}': // EMPTY_DICT
        stack.add(new PickleDict("dict"));
        break;
      case 'd': { // DICT
        PickleDict d = new PickleDict("dict");
        setItems(d, stack.pop_all_since_marker());
        stack.add(d);
        break;
      }
      case 's': { // SETITEM
        Object value = stack.pop();
        Object k = stack.pop();
        setItems(stack.peek(), java.util.Arrays.asList(k, value));
        break;
      }
      case 'u': { // SETITEMS
        List<Object> items = stack.pop_all_since_marker();
        setItems(stack.peek(), items);
        break;
      }
      case 'a': { // APPEND
        Object value = stack.pop();
        appendAll(stack.peek(), java.util.Collections.singletonList(value));
        break;
      }
      case 'e': { // APPENDS
        List<Object> items = stack.pop_all_since_marker();
        appendAll(stack.peek(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.add(new LinkedHashSet<>());
        break;
      case 0x90: { // ADDITEMS
        List<Object> items = stack.pop_all_since_marker();
        if (!(stack.peek() instanceof Set<?> s)) {
          throw new PickleDataException("ADDITEMS on a " + PickleGlobals.typeName(stack.peek()));
        }
        @SuppressWarnings("unchecked")
        Set<Object> set = (Set<Object>) s;
        for (Object o : items) {
          set.add(PickleGlobals.hashable(o));
        }
        break;
      }
      case 0x91: { // FROZENSET
        Set<Object> set = new LinkedHashSet<>();
        for (Object o : stack.pop_all_since_marker()) {
          set.add(PickleGlobals.hashable(o));
        }
        stack.add(set);
        break;
      }
      case 'T': { // BINSTRING: signed 4-byte length
        long n = src.readLength(4);
        stack.add(new String(src.readExact(n > Integer.MAX_VALUE ? -1 : n, "BINSTRING"), StandardCharsets.ISO_8859_1));
        break;
      }
      case 'X': // BINUNICODE
        stack.add(new String(src.readExact(src.readLength(4), "BINUNICODE"), StandardCharsets.UTF_8));
        break;
      case 0x8d: // BINUNICODE8
        stack.add(new String(src.readExact(src.readLength(8), "BINUNICODE8"), StandardCharsets.UTF_8));
        break;
      case 'U': // SHORT_BINSTRING
        stack.add(new String(src.readExact(src.readLength(1), "SHORT_BINSTRING"), StandardCharsets.ISO_8859_1));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.add(new String(src.readExact(src.readLength(1), "SHORT_BINUNICODE"), StandardCharsets.UTF_8));
        break;
      case 'C': // SHORT_BINBYTES
        stack.add(src.readExact(src.readLength(1), "SHORT_BINBYTES"));
        break;
      case 'B': // BINBYTES
        stack.add(src.readExact(src.readLength(4), "BINBYTES"));
        break;
      case 0x8e: // BINBYTES8
        stack.add(src.readExact(src.readLength(8), "BINBYTES8"));
        break;
      case 0x96: // BYTEARRAY8
        stack.add(src.readExact(src.readLength(8), "BYTEARRAY8"));
        break;
      case 0x8a: // LONG1
        stack.add(decodeLong(src.readExact(src.readLength(1), "LONG1")));
        break;
      case 0x8b: { // LONG4: signed 4-byte length
        long n = src.readLength(4);
        if (n > MAX_LONG_BYTES) {
          throw new PickleDataException("LONG4 integer of " + n + " bytes is not plausible");
        }
        stack.add(decodeLong(src.readExact(n, "LONG4")));
        break;
      }
      case 'I': // INT (text; also the protocol 0 booleans)
        stack.add(parseInt(src.readLine(MAX_NUMBER_TEXT)));
        break;
      case 'L': { // LONG (text, optional trailing L)
        String s = src.readLine(MAX_NUMBER_TEXT);
        stack.add(parseInt(s.endsWith("L") ? s.substring(0, s.length() - 1) : s));
        break;
      }
      case 0x82: case 0x83: case 0x84:
        throw new PickleDataException("extension registry opcodes (EXT1/EXT2/EXT4) are not supported");
      case 0x97: case 0x98:
        throw new PickleDataException("out-of-band buffers (protocol 5) are not supported");
      default:
        return super.dispatch(key);
    }
    return NO_RETURN_VALUE;
  }

  private static Object[] tuple(Object args, String opcode) {
    if (args instanceof Object[] t) {
      return t;
    }
    throw new PickleDataException(opcode + " arguments are a " + PickleGlobals.typeName(args) + ", not a tuple");
  }

  /** BUILD: instance state. Dicts keep their items (state only sets attributes such as _metadata). */
  private static void build(Object target, Object state) {
    if (target instanceof PickleDict d) {
      if (state instanceof Object[] t && t.length == 2) {
        addAttributes(d, t[0]);
        addAttributes(d, t[1]);
      } else {
        addAttributes(d, state);
      }
    } else if (target instanceof PickleObject o) {
      o.setState(state);
    } else if (!(target instanceof TorchTensorRef)) { // tensor Python attributes are irrelevant here
      throw new PickleDataException("BUILD on a " + PickleGlobals.typeName(target));
    }
  }

  private static void addAttributes(PickleDict d, Object state) {
    if (state instanceof Map<?, ?> m) {
      d.attributes().putAll(m);
    } else if (state != null) {
      throw new PickleDataException("BUILD on a dict with a " + PickleGlobals.typeName(state) + " state");
    }
  }

  private static void setItems(Object target, List<Object> kv) {
    if (kv == null || kv.size() % 2 != 0) {
      throw new PickleDataException("odd number of items for a dict");
    }
    Map<Object, Object> map;
    if (target instanceof PickleDict d) {
      map = d;
    } else if (target instanceof PickleObject o) {
      map = o.dictItems();
    } else {
      throw new PickleDataException("SETITEM on a " + PickleGlobals.typeName(target));
    }
    for (int i = 0; i < kv.size(); i += 2) {
      map.put(PickleGlobals.hashable(kv.get(i)), kv.get(i + 1));
    }
  }

  private static void appendAll(Object target, List<Object> items) {
    List<Object> list;
    if (target instanceof PickleObject o) {
      list = o.listItems();
    } else if (target instanceof List<?> l) {
      @SuppressWarnings("unchecked")
      List<Object> cast = (List<Object>) l;
      list = cast;
    } else {
      throw new PickleDataException("APPEND on a " + PickleGlobals.typeName(target));
    }
    list.addAll(items);
  }

  private static Object decodeLong(byte[] le) {
    if (le.length == 0) {
      return 0;
    }
    byte[] be = new byte[le.length];
    for (int i = 0; i < le.length; i++) {
      be[i] = le[le.length - 1 - i];
    }
    return PickleUtils.optimizeBigint(new BigInteger(be));
  }

  private static Object parseInt(String s) {
    String t = s.trim();
    if (t.equals("00")) {
      return Boolean.FALSE;
    }
    if (t.equals("01")) {
      return Boolean.TRUE;
    }
    try {
      return PickleUtils.optimizeBigint(new BigInteger(t));
    } catch (NumberFormatException e) {
      throw new PickleDataException("malformed integer text in pickle");
    }
  }
}
