package io.resttf.convert.pickle;

import java.util.Map;

/**
 * The element types of torch storages this reader understands, with their size in bytes and the dtype label
 * recorded in {@link io.resttf.tensor.HostTensor#dtype()}.
 */
public enum TorchDType {
  F32(4, "F32"),
  F16(2, "F16"),
  BF16(2, "BF16"),
  F64(8, "F64"),
  I64(8, "I64"),
  I32(4, "I32"),
  I16(2, "I16"),
  I8(1, "I8"),
  U8(1, "U8"),
  BOOL(1, "BOOL");

  public final int itemSize;
  public final String label;

  TorchDType(int itemSize, String label) {
    this.itemSize = itemSize;
    this.label = label;
  }

  private static final Map<String, TorchDType> STORAGE_TYPES = Map.ofEntries(
      Map.entry("FloatStorage", F32),
      Map.entry("HalfStorage", F16),
      Map.entry("BFloat16Storage", BF16),
      Map.entry("DoubleStorage", F64),
      Map.entry("LongStorage", I64),
      Map.entry("IntStorage", I32),
      Map.entry("ShortStorage", I16),
      Map.entry("CharStorage", I8),
      Map.entry("ByteStorage", U8),
      Map.entry("BoolStorage", BOOL),
      // untyped storages hold bytes
      Map.entry("UntypedStorage", U8),
      Map.entry("_UntypedStorage", U8));

  private static final Map<String, TorchDType> DTYPES = Map.ofEntries(
      Map.entry("float32", F32), Map.entry("float", F32),
      Map.entry("float16", F16), Map.entry("half", F16),
      Map.entry("bfloat16", BF16),
      Map.entry("float64", F64), Map.entry("double", F64),
      Map.entry("int64", I64), Map.entry("long", I64),
      Map.entry("int32", I32), Map.entry("int", I32),
      Map.entry("int16", I16), Map.entry("short", I16),
      Map.entry("int8", I8),
      Map.entry("uint8", U8),
      Map.entry("bool", BOOL));

  /**
   * The dtype a storage type global stands for: torch.FloatStorage (also torch.cuda.*), torch.UntypedStorage /
   * torch.storage.UntypedStorage (bytes), or a dtype global such as torch.float32. Null if it is none of them.
   */
  public static TorchDType ofStorageGlobal(PickleGlobal g) {
    String m = g.module();
    if (m.equals("torch") || m.equals("torch.cuda") || m.equals("torch.storage")) {
      TorchDType t = STORAGE_TYPES.get(g.name());
      if (t != null) {
        return t;
      }
    }
    return m.equals("torch") ? DTYPES.get(g.name()) : null;
  }

  /** Whether the global is a torch storage type this reader knows, any module spelling. */
  static boolean isStorageTypeName(String name) {
    return STORAGE_TYPES.containsKey(name);
  }

  static boolean isDtypeGlobal(PickleGlobal g) {
    return g.module().equals("torch") && DTYPES.containsKey(g.name());
  }
}
