package io.resttf.convert.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.CheckpointFiles;
import io.resttf.tensor.BadInputException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Hostile files: pickles that would run commands under Python's pickle.load / torch.load, forged sizes that
 * would make a naive reader allocate gigabytes, and structural tricks. Each must end in a one-line
 * BadInputException naming the file (and the global or the entry), quickly and without side effects.
 */
class TorchSecurityTest {
  @TempDir
  Path tmp;
  Path marker;

  @BeforeEach
  void clearMarkers() throws Exception {
    Files.deleteIfExists(TorchTestFiles.PYTHON_MARKER);
    marker = tmp.resolve("pwned");
  }

  /** Files written by Python's own pickler (make_pth.py) from objects whose __reduce__ runs a command. */
  @ParameterizedTest
  @CsvSource({
      "evil_os_system.pth, posix.system",
      "evil_eval.pth, builtins.eval",
      "evil_exec.pth, __builtin__.exec",
      "evil_popen.pth, subprocess.Popen",
      "evil_getattr.pth, __builtin__.getattr",
      "evil_legacy_os_system.pth, posix.system",
      "evil_p0_os_system.pth, posix.system",
      "evil_mmseg_meta_os_system.pth, posix.system"})
  void pythonWrittenExploitsAreRefused(String name, String global) {
    Path file = TorchTestFiles.resource(name);
    BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(file, false, null));
    TorchTestFiles.assertOneLine(e, file);
    assertTrue(e.getMessage().contains("refused to call global " + global), e.getMessage());
    assertFalse(Files.exists(TorchTestFiles.PYTHON_MARKER), "side effect happened");
    // the generic entry point refuses the same way
    assertThrows(BadInputException.class, () -> CheckpointFiles.read(file, false, null));
  }

  /** Every opcode that can call a global, with several spellings of dangerous functions. */
  @ParameterizedTest
  @CsvSource({
      "GLOBAL_REDUCE, os, system",
      "GLOBAL_REDUCE, posix, system",
      "GLOBAL_REDUCE, nt, system",
      "GLOBAL_REDUCE, subprocess, call",
      "GLOBAL_REDUCE, subprocess, Popen",
      "GLOBAL_REDUCE, builtins, eval",
      "GLOBAL_REDUCE, __builtin__, eval",
      "GLOBAL_REDUCE, builtins, __import__",
      "GLOBAL_REDUCE, builtins, open",
      "GLOBAL_REDUCE, some.module, do_something",
      "STACK_GLOBAL_REDUCE, os, system",
      "STACK_GLOBAL_REDUCE, builtins, exec",
      "INST, os, system",
      "OBJ, os, system",
      "NEWOBJ, os, system",
      "NEWOBJ_EX, subprocess, Popen",
      "NOARGS_REDUCE, os, fork",
      "NOARGS_REDUCE, builtins, breakpoint",
      "RECONSTRUCTOR, posix, system",
      "FROM_TYPE, os, system"})
  void callsOfUnlistedGlobalsAreRefused(String how, String module, String name) {
    String cmd = "touch " + marker;
    PickleBuilder p = new PickleBuilder().proto(2).emptyDict().str("model").orderedDict();
    p.mark().str("w").tensor("FloatStorage", "0", 1, 0, new long[] {1}, new long[] {1}).setitems();
    p.str("x");
    switch (how) {
      case "GLOBAL_REDUCE" -> p.global(module, name).mark().str(cmd).tuple().reduce();
      case "STACK_GLOBAL_REDUCE" -> p.stackGlobal(module, name).mark().str(cmd).tuple().reduce();
      case "INST" -> p.mark().str(cmd).op('i').raw((module + "\n" + name + "\n").getBytes());
      case "OBJ" -> p.mark().global(module, name).str(cmd).op('o');
      case "NEWOBJ" -> p.global(module, name).mark().str(cmd).tuple().op(0x81);
      case "NEWOBJ_EX" -> p.global(module, name).mark().str(cmd).tuple().emptyDict().op(0x92);
      case "NOARGS_REDUCE" -> p.global(module, name).emptyTuple().reduce();
      case "RECONSTRUCTOR" -> p.global("copyreg", "_reconstructor").mark().global(module, name)
          .global("builtins", "object").none().tuple().reduce();
      case "FROM_TYPE" -> p.global("torch._tensor", "_rebuild_from_type_v2").mark().global(module, name)
          .global("torch", "Tensor").mark().str(cmd).tuple().emptyDict().tuple().reduce();
      default -> throw new IllegalArgumentException(how);
    }
    p.op('s').op('s').stop();
    Path file = TorchTestFiles.writeZip(tmp.resolve("evil.pth"), "archive", p.bytes(), Map.of("0", new byte[4]));
    BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(file, false, null));
    TorchTestFiles.assertOneLine(e, file);
    assertTrue(e.getMessage().contains("refused to call global " + module + "." + name), e.getMessage());
    assertTrue(e.getMessage().contains("entry archive/data.pkl"), e.getMessage());
    assertFalse(Files.exists(marker));
  }

  @Test
  void plainDataClassesAreInertPlaceholders() {
    // argparse.Namespace via NEWOBJ + BUILD, a user class via REDUCE(cls, ()) + BUILD, Pyrolite-registered
    // globals that must not reach Pyrolite's constructors: all load as data next to the weights
    PickleBuilder p = new PickleBuilder().proto(2).emptyDict().mark();
    p.str("model").orderedDict().mark().str("w").tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1})
        .setitems();
    p.str("args").global("argparse", "Namespace").emptyTuple().op(0x81).emptyDict().str("lr").integer(3).op('s').build();
    p.str("cfg").global("__main__", "TrainConfig").emptyTuple().reduce().emptyDict().str("x").none().op('s').build();
    p.str("when").global("datetime", "datetime").mark().raw(new byte[] {'C', 2, 7, (byte) 0xe8}).tuple().reduce();
    p.setitems().stop();
    Path file = TorchTestFiles.writeZip(tmp.resolve("ok.pth"), "archive", p.bytes(), Map.of("0", new byte[8]));
    TorchCheckpoint c = TorchCheckpoint.read(file, false, null);
    assertEquals(java.util.List.of("w"), java.util.List.copyOf(c.stateDict().keySet()));
    assertEquals(java.util.List.of("args", "cfg", "when"), c.otherEntries());
  }

  @Test
  void pyrolitesConstructorRegistryIsNeverConsulted() {
    // Pyrolite resolves globals through a static registry (and a reflective ClassDict fallback); the safe
    // unpickler must not reach it, even for a name someone registered
    boolean[] constructed = {false};
    net.razorvine.pickle.Unpickler.registerConstructor("resttf_test_module", "Registered", args -> {
      constructed[0] = true;
      return "constructed";
    });
    PickleBuilder p = new PickleBuilder().proto(2).global("resttf_test_module", "Registered").mark().str("x").tuple()
        .reduce().stop();
    Path file = TorchTestFiles.writeZip(tmp.resolve("registry.pth"), "archive", p.bytes(), Map.of());
    BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(file, false, null));
    assertTrue(e.getMessage().contains("refused to call global resttf_test_module.Registered"), e.getMessage());
    assertFalse(constructed[0]);
  }

  @Test
  void deeplyNestedStructuresDoNotOverflowTheStack() {
    PickleBuilder p = new PickleBuilder().proto(2);
    for (int i = 0; i < 200_000; i++) {
      p.op(']');
    }
    for (int i = 0; i < 199_999; i++) {
      p.op('a'); // append each list to the one below it
    }
    p.stop();
    assertFailsSmallAndFast(p.bytes(), "holds a list, not a state_dict", null);
  }

  @Test
  void bytearrayWithAForgedLengthIsNotAllocated() {
    PickleBuilder p = new PickleBuilder().proto(2).global("builtins", "bytearray").mark().integer(1L << 40).tuple()
        .reduce().stop();
    assertFailsSmallAndFast(p.bytes(), "bytearray", null);
  }

  @Test
  void forgedStorageNumelFailsFastWithoutAllocating() {
    long numel = 1L << 40;
    PickleBuilder p = new PickleBuilder().proto(2).orderedDict().mark().str("w")
        .tensor("FloatStorage", "17", numel, 0, new long[] {numel}, new long[] {1}).setitems().stop();
    assertFailsSmallAndFast(p.bytes(), "entry archive/data/17: storage needs " + (numel * 4) + " bytes", null);
  }

  @ParameterizedTest
  @CsvSource({
      "shape beyond the storage, 4, 0, 5, 1, reaches element 4",
      "offset beyond the storage, 4, 4, 1, 1, reaches element 4",
      "huge shape, 4, 0, 1099511627776, 1, reaches element",
      "huge stride, 4, 0, 2, 4611686018427387904, reaches element",
      "overflowing stride, 4, 0, 3, 9223372036854775807, overflows",
      "negative size, 4, 0, -1, 1, negative size",
      "stride-0 broadcast of a huge view, 4, 0, 4294967296, 0, more than a Java array holds",
      "stride-0 broadcast over budget, 4, 0, 2000000000, 0, more than a file of"})
  void forgedViewsFailBeforeAllocation(String what, long numel, long offset, long size, long stride, String expect) {
    PickleBuilder p = new PickleBuilder().proto(2).orderedDict().mark().str("w")
        .tensor("FloatStorage", "3", numel, offset, new long[] {size}, new long[] {stride}).setitems().stop();
    assertFailsSmallAndFast(p.bytes(), expect, what);
  }

  @ParameterizedTest
  @CsvSource({
      "BINUNICODE8, 141, 8", "BINBYTES8, 142, 8", "BYTEARRAY8, 150, 8", "BINBYTES, 66, 4", "BINUNICODE, 88, 4",
      "BINSTRING, 84, 4", "LONG4, 139, 4"})
  void forgedLengthFieldsFailWithoutAllocating(String opcode, int code, int width) {
    PickleBuilder p = new PickleBuilder().proto(4).op(code).le(width == 8 ? (1L << 60) : 0x7ffffff0L, width)
        .raw(new byte[64]).stop();
    assertFailsSmallAndFast(p.bytes(), null, opcode);
  }

  @Test
  void selfReferencingContainersAsKeysAreRefusedNotHashed() {
    // a list that contains itself, used as a dict key: hashing it would recurse forever
    PickleBuilder p = new PickleBuilder().proto(2).op(']').op('q').op(0).op('h').op(0).op('a');
    p.emptyDict().op('h').op(0).integer(1).op('s').stop();
    assertFailsSmallAndFast(p.bytes(), "unhashable list", null);
  }

  @Test
  void legacyFileWithForgedStorageSizes() throws Exception {
    byte[] good = Files.readAllBytes(TorchTestFiles.resource("legacy_views.pth"));
    // the storage headers follow the pickles; forge the first one's element count
    int at = indexOfLong(good, 10); // root storage "100": 10 float32 elements
    byte[] forged = good.clone();
    ByteBuffer.wrap(forged).order(ByteOrder.LITTLE_ENDIAN).putLong(at, 1L << 40);
    Path file = Files.write(tmp.resolve("legacy_forged.pth"), forged);
    BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(file, false, null));
    TorchTestFiles.assertOneLine(e, file);
    assertTrue(e.getMessage().contains("storage 100") && e.getMessage().contains("1099511627776"), e.getMessage());

    Path truncated = Files.write(tmp.resolve("legacy_truncated.pth"), java.util.Arrays.copyOf(good, good.length - 3));
    BadInputException t = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(truncated, false, null));
    TorchTestFiles.assertOneLine(t, truncated);
    assertTrue(t.getMessage().contains("truncated"), t.getMessage());
  }

  @Test
  void truncatedZipStorageNamesTheEntry() throws Exception {
    PickleBuilder p = new PickleBuilder().proto(2).orderedDict().mark().str("w")
        .tensor("FloatStorage", "5", 25, 0, new long[] {25}, new long[] {1}).setitems().stop();
    Path file = TorchTestFiles.writeZip(tmp.resolve("weights.pth"), "archive", p.bytes(), Map.of("5", new byte[100]));
    assertEquals(25, TorchCheckpoint.read(file, false, null).stateDict().get("w").size());
    Path short_ = TorchTestFiles.writeZip(tmp.resolve("short.pth"), "archive", p.bytes(), Map.of("5", new byte[99]));
    BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(short_, false, null));
    assertTrue(e.getMessage().endsWith("entry archive/data/5: storage needs 100 bytes (25 x F32) but the entry has 99"),
        e.getMessage());
  }

  /** Reads the pickle in a zip; expects a one-line BadInputException, in under 2 s, allocating under 32 MB. */
  private void assertFailsSmallAndFast(byte[] pickle, String expectInMessage, String what) {
    Path file = TorchTestFiles.writeZip(tmp.resolve("forged.pth"), "archive", pickle, Map.of("3", new byte[16],
        "17", new byte[100]));
    Consumer<BadInputException> check = e -> {
      TorchTestFiles.assertOneLine(e, file);
      if (expectInMessage != null) {
        assertTrue(e.getMessage().contains(expectInMessage), what + ": " + e.getMessage());
      }
    };
    assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
      long before = allocatedBytes();
      BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpoint.read(file, false, null));
      long allocated = allocatedBytes() - before;
      check.accept(e);
      assertTrue(allocated < 32L << 20, what + ": allocated " + allocated + " bytes");
    });
  }

  static long allocatedBytes() {
    var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    return bean.getThreadAllocatedBytes(Thread.currentThread().getId());
  }

  private static int indexOfLong(byte[] data, long value) {
    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = data.length - 8; i >= 0; i--) { // the storages are at the end: search backwards
      if (b.getLong(i) == value && i + 8 + 40 <= data.length) {
        return i;
      }
    }
    throw new AssertionError("storage header not found");
  }
}
