package io.resttf.convert.torch;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes pickle opcodes by hand, for hostile and forged test files that Python's pickler would not emit. */
final class PickleBuilder {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  PickleBuilder op(int opcode) {
    out.write(opcode);
    return this;
  }

  PickleBuilder raw(byte[] b) {
    out.writeBytes(b);
    return this;
  }

  PickleBuilder proto(int p) {
    return op(0x80).op(p);
  }

  PickleBuilder global(String module, String name) {
    return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
  }

  PickleBuilder stackGlobal(String module, String name) {
    return str(module).str(name).op(0x93);
  }

  PickleBuilder str(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    op('X');
    le(b.length, 4);
    return raw(b);
  }

  PickleBuilder integer(long v) {
    if (v >= 0 && v < 256) {
      return op('K').op((int) v);
    }
    if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
      op('J');
      return le(v, 4);
    }
    op(0x8a).op(8);
    return le(v, 8);
  }

  PickleBuilder le(long v, int width) {
    for (int i = 0; i < width; i++) {
      out.write((int) (v >>> (8 * i)));
    }
    return this;
  }

  PickleBuilder mark() {
    return op('(');
  }

  PickleBuilder tuple() {
    return op('t');
  }

  PickleBuilder emptyTuple() {
    return op(')');
  }

  PickleBuilder reduce() {
    return op('R');
  }

  PickleBuilder build() {
    return op('b');
  }

  PickleBuilder emptyDict() {
    return op('}');
  }

  PickleBuilder setitems() {
    return op('u');
  }

  PickleBuilder none() {
    return op('N');
  }

  PickleBuilder stop() {
    return op('.');
  }

  /** An empty collections.OrderedDict on the stack. */
  PickleBuilder orderedDict() {
    return global("collections", "OrderedDict").emptyTuple().reduce();
  }

  /** _rebuild_tensor_v2(('storage', torch.&lt;type&gt;, key, 'cpu', numel), offset, size, stride, False, {}). */
  PickleBuilder tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
    return tensor("torch", storageType, key, numel, offset, size, stride);
  }

  /** As above with the storage type's module spelled out (torch.cuda, torch.storage, ...). */
  PickleBuilder tensor(String module, String storageType, String key, long numel, long offset, long[] size,
      long[] stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    tensorArgs(module, storageType, key, numel, offset, size, stride);
    return tuple().reduce();
  }

  /** The argument items of _rebuild_tensor_v2 (without MARK / TUPLE). */
  PickleBuilder tensorArgs(String module, String storageType, String key, long numel, long offset, long[] size,
      long[] stride) {
    mark().str("storage").global(module, storageType).str(key).str("cpu").integer(numel).tuple().op('Q');
    integer(offset);
    mark();
    for (long s : size) integer(s);
    tuple();
    mark();
    for (long s : stride) integer(s);
    tuple();
    return op(0x89).orderedDict();
  }

  byte[] bytes() {
    return out.toByteArray();
  }
}
