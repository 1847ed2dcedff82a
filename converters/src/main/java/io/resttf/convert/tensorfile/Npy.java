package io.resttf.convert.tensorfile;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Strict reader and writer for NumPy's <a href="https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html">
 * .npy format</a>: magic {@code "\x93NUMPY"}, version 1.0 (2-byte header length) or 2.0/3.0 (4-byte),
 * and a Python dict literal {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }} followed by
 * the raw C-order data.
 *
 * <p>The header is parsed by hand (no eval), and must hold exactly the keys descr, fortran_order and
 * shape. Supported descrs: float32/float64/float16 and int64/int32/int16/int8/uint8/bool, little- or
 * big-endian; float16 is widened exactly to float32. Fortran order, object and structured dtypes are
 * refused. The data must be exactly {@code numel * itemsize} bytes, checked against the file size before
 * anything is allocated. Every problem gives a one-line {@link BadInputException} {@code "<path>: <reason>"}.
 */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

  /** Larger headers are refused before they are read; numpy itself refuses over 10000 bytes by default. */
  static final int MAX_HEADER_BYTES = 1 << 20;

  private static final int ALIGN = 64;

  /** numpy pads room for the first axis to grow to this many digits. */
  private static final int GROWTH_AXIS_MAX_DIGITS = 21;

  private Npy() {}

  /**
   * Reads an .npy file.
   *
   * @return the array; {@link HostTensor#dtype()} is the safetensors-style name of the file's dtype
   *     ("F32", "F64", "F16", "I64", "I32", "I16", "I8", "U8", "BOOL")
   * @throws BadInputException if the file cannot be read or is malformed
   */
  public static HostTensor read(Path file) {
    try (FileChannel ch = Safetensors.openForRead(file)) {
      long size = ch.size();
      if (size < 10) {
        throw Safetensors.bad(file, "file is " + size + " bytes, too short for an .npy header");
      }
      ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
      pre.limit(10);
      Safetensors.readFully(file, ch, pre, 0);
      for (int i = 0; i < MAGIC.length; i++) {
        if (pre.get(i) != MAGIC[i]) {
          throw Safetensors.bad(file, "not an .npy file (bad magic, expected \\x93NUMPY)");
        }
      }
      int major = pre.get(6) & 0xff;
      int minor = pre.get(7) & 0xff;
      if (major < 1 || major > 3 || minor != 0) {
        throw Safetensors.bad(file, "unsupported .npy format version " + major + "." + minor);
      }
      long headerLen;
      long headerStart;
      if (major == 1) {
        headerLen = pre.getShort(8) & 0xffff;
        headerStart = 10;
      } else {
        if (size < 12) {
          throw Safetensors.bad(file, "file is " + size + " bytes, too short for an .npy header");
        }
        pre.limit(12).position(10);
        Safetensors.readFully(file, ch, pre, 10);
        headerLen = pre.getInt(8) & 0xffffffffL;
        headerStart = 12;
      }
      if (headerLen > size - headerStart) {
        throw Safetensors.bad(file, "header length " + headerLen + " exceeds file size " + size);
      }
      if (headerLen > MAX_HEADER_BYTES) {
        throw Safetensors.bad(file, "header length " + headerLen + " exceeds the " + MAX_HEADER_BYTES + "-byte limit");
      }
      ByteBuffer raw = ByteBuffer.allocate((int) headerLen);
      Safetensors.readFully(file, ch, raw, headerStart);
      raw.flip();
      String text;
      if (major == 3) {
        try {
          text =
              StandardCharsets.UTF_8
                  .newDecoder()
                  .onMalformedInput(CodingErrorAction.REPORT)
                  .onUnmappableCharacter(CodingErrorAction.REPORT)
                  .decode(raw)
                  .toString();
        } catch (CharacterCodingException ex) {
          throw Safetensors.bad(file, "header is not valid UTF-8");
        }
      } else {
        text = StandardCharsets.ISO_8859_1.decode(raw).toString();
      }
      Header h = parseHeader(file, text);
      long numel = 1;
      long nbytes;
      try {
        for (long d : h.shape) {
          numel = Math.multiplyExact(numel, d);
        }
        nbytes = Math.multiplyExact(numel, h.dtype.size);
      } catch (ArithmeticException ex) {
        throw Safetensors.bad(file, "element count of shape " + Arrays.toString(h.shape) + " overflows 64 bits");
      }
      long dataStart = headerStart + headerLen;
      long have = size - dataStart;
      if (have < nbytes) {
        throw Safetensors.bad(
            file,
            "truncated data: " + have + " bytes but " + h.descr + " shape " + Arrays.toString(h.shape)
                + " needs " + nbytes);
      }
      if (have > nbytes) {
        throw Safetensors.bad(
            file,
            (have - nbytes) + " trailing bytes after the data (" + h.descr + " shape " + Arrays.toString(h.shape)
                + " needs " + nbytes + ")");
      }
      if (numel > Integer.MAX_VALUE - 8L) {
        throw Safetensors.bad(file, numel + " elements are too many for one Java array");
      }
      return Safetensors.readData(file, ch, dataStart, h.dtype, h.order, h.shape, numel, null, "array");
    } catch (IOException ex) {
      throw Safetensors.cannotRead(file, ex);
    }
  }

  /**
   * Writes an .npy file that {@code numpy.load} reads back: '&lt;f4' for float32 data, '&lt;f8' for a tensor
   * whose dtype is "F64", '&lt;i8' for integer tensors. The header is byte-for-byte what numpy writes
   * (version 1.0 unless the header needs 2.0, padded with spaces and a '\n' to a multiple of 64 bytes).
   * Written to a temporary file in the same directory, then atomically renamed over {@code file}.
   *
   * @throws BadInputException if the file cannot be written
   */
  public static void write(Path file, HostTensor t) {
    String kind = Safetensors.outputDtype(t);
    String descr = switch (kind) {
      case "F32" -> "<f4";
      case "F64" -> "<f8";
      default -> "<i8";
    };
    long[] shape = t.shape();
    StringBuilder dict = new StringBuilder();
    dict.append("{'descr': '").append(descr).append("', 'fortran_order': False, 'shape': ");
    dict.append(shapeRepr(shape)).append(", }");
    if (shape.length > 0) {
      dict.append(" ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length())));
    }
    byte[] header = headerBytes(dict.toString());
    writeAtomicallyWithHeader(file, header, t, kind);
  }

  private static void writeAtomicallyWithHeader(Path file, byte[] header, HostTensor t, String kind) {
    Safetensors.writeFile(
        file,
        ch -> {
          Safetensors.writeFully(ch, ByteBuffer.wrap(header));
          long bytes = t.size() * 8;
          int cap = (int) Math.max(8, Math.min(8 << 20, bytes));
          Safetensors.writeData(ch, t, kind, ByteBuffer.allocateDirect(cap));
        });
  }

  /** Python's repr of the shape tuple: {@code ()}, {@code (5,)}, {@code (2, 3)}. */
  static String shapeRepr(long[] shape) {
    if (shape.length == 1) {
      return "(" + shape[0] + ",)";
    }
    StringBuilder b = new StringBuilder("(");
    for (int i = 0; i < shape.length; i++) {
      if (i > 0) {
        b.append(", ");
      }
      b.append(shape[i]);
    }
    return b.append(')').toString();
  }

  /** Magic, version, length and the dict padded with spaces and '\n' to a multiple of 64 bytes. */
  private static byte[] headerBytes(String dict) {
    byte[] text = dict.getBytes(StandardCharsets.ISO_8859_1);
    int hlen = text.length + 1;
    int major = 1;
    int pre = MAGIC.length + 2 + 2;
    int padlen = ALIGN - ((pre + hlen) % ALIGN);
    if (hlen + padlen > 0xffff) {
      major = 2;
      pre = MAGIC.length + 2 + 4;
      padlen = ALIGN - ((pre + hlen) % ALIGN);
    }
    int total = pre + hlen + padlen;
    ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).put((byte) major).put((byte) 0);
    if (major == 1) {
      b.putShort((short) (hlen + padlen));
    } else {
      b.putInt(hlen + padlen);
    }
    b.put(text);
    for (int i = 0; i < padlen; i++) {
      b.put((byte) ' ');
    }
    b.put((byte) '\n');
    return b.array();
  }

  // ------------------------------------------------------------------------------------ header parse

  private record Header(String descr, Safetensors.DType dtype, ByteOrder order, long[] shape) {}

  private static Header parseHeader(Path file, String text) {
    Map<String, Object> dict = new DictParser(file, text).parse();
    for (String key : List.of("descr", "fortran_order", "shape")) {
      if (!dict.containsKey(key)) {
        throw Safetensors.bad(file, "header has no '" + key + "' key");
      }
    }
    if (dict.size() != 3) {
      List<String> extra = new ArrayList<>(dict.keySet());
      extra.removeAll(List.of("descr", "fortran_order", "shape"));
      throw Safetensors.bad(file, "header has unexpected keys " + extra);
    }
    if (!(dict.get("descr") instanceof String descr)) {
      throw Safetensors.bad(file, "header 'descr' is not a string (structured dtypes are not supported)");
    }
    if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
      throw Safetensors.bad(file, "header 'fortran_order' is not True or False");
    }
    if (fortran) {
      throw Safetensors.bad(file, "Fortran order not supported");
    }
    if (!(dict.get("shape") instanceof long[] shape)) {
      throw Safetensors.bad(file, "header 'shape' is not a tuple of integers");
    }
    if (descr.length() < 2) {
      throw Safetensors.bad(file, "unsupported descr " + Safetensors.quote(descr));
    }
    char endian = descr.charAt(0);
    String code = descr.substring(1);
    Safetensors.DType dtype = switch (code) {
      case "f4" -> Safetensors.DType.F32;
      case "f8" -> Safetensors.DType.F64;
      case "f2" -> Safetensors.DType.F16;
      case "i8" -> Safetensors.DType.I64;
      case "i4" -> Safetensors.DType.I32;
      case "i2" -> Safetensors.DType.I16;
      case "i1" -> Safetensors.DType.I8;
      case "u1" -> Safetensors.DType.U8;
      case "b1" -> Safetensors.DType.BOOL;
      default -> null;
    };
    ByteOrder order;
    if (endian == '<') {
      order = ByteOrder.LITTLE_ENDIAN;
    } else if (endian == '>') {
      order = ByteOrder.BIG_ENDIAN;
    } else if (endian == '|' && dtype != null && dtype.size == 1) {
      order = ByteOrder.LITTLE_ENDIAN;
    } else {
      dtype = null;
      order = null;
    }
    if (dtype == null) {
      throw Safetensors.bad(
          file,
          "unsupported descr " + Safetensors.quote(descr)
              + " (supported: <f4 <f8 <f2 <i8 <i4 <i2 |i1 |u1 |b1, or big-endian '>')");
    }
    return new Header(descr, dtype, order, shape);
  }

  /**
   * Parses the restricted Python literal numpy writes: a dict of string keys to strings, True/False and
   * tuples of non-negative integers (a Python 2 'L' suffix is accepted), with optional trailing commas.
   */
  private static final class DictParser {
    private final Path file;
    private final String s;
    private int i;

    DictParser(Path file, String s) {
      this.file = file;
      this.s = s;
    }

    Map<String, Object> parse() {
      skipSpace();
      expect('{');
      Map<String, Object> out = new LinkedHashMap<>();
      skipSpace();
      while (peek() != '}') {
        String key = string();
        skipSpace();
        expect(':');
        skipSpace();
        Object value = value();
        if (out.put(key, value) != null) {
          throw error("duplicate key " + Safetensors.quote(key));
        }
        skipSpace();
        if (peek() == ',') {
          i++;
          skipSpace();
        } else if (peek() != '}') {
          throw error("expected ',' or '}'");
        }
      }
      i++;
      skipSpace();
      if (i != s.length()) {
        throw error("unexpected text after the dict");
      }
      return out;
    }

    private Object value() {
      char c = peek();
      if (c == '\'' || c == '"') {
        return string();
      }
      if (c == '(') {
        return tuple();
      }
      if (s.startsWith("True", i)) {
        i += 4;
        return Boolean.TRUE;
      }
      if (s.startsWith("False", i)) {
        i += 5;
        return Boolean.FALSE;
      }
      if (c == '[' || c == '{') {
        throw error("nested lists or dicts are not supported (structured dtype?)");
      }
      throw error("unexpected value");
    }

    private long[] tuple() {
      expect('(');
      List<Long> dims = new ArrayList<>();
      skipSpace();
      boolean sawComma = false;
      while (peek() != ')') {
        dims.add(integer());
        skipSpace();
        if (peek() == ',') {
          i++;
          sawComma = true;
          skipSpace();
        } else if (peek() != ')') {
          throw error("expected ',' or ')' in the shape tuple");
        }
      }
      i++;
      if (dims.size() == 1 && !sawComma) {
        throw error("shape (" + dims.get(0) + ") is not a tuple");
      }
      long[] out = new long[dims.size()];
      for (int k = 0; k < out.length; k++) {
        out[k] = dims.get(k);
      }
      return out;
    }

    private long integer() {
      int start = i;
      if (peek() == '-') {
        throw error("negative dimension in shape");
      }
      while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
        i++;
      }
      if (i == start) {
        throw error("shape dimension is not an integer");
      }
      String digits = s.substring(start, i);
      if (i < s.length() && s.charAt(i) == 'L') {
        i++;
      }
      if (digits.length() > 19) {
        throw error("shape dimension " + digits + " does not fit 64 bits");
      }
      try {
        return Long.parseLong(digits);
      } catch (NumberFormatException ex) {
        throw error("shape dimension " + digits + " does not fit 64 bits");
      }
    }

    private String string() {
      char q = peek();
      if (q != '\'' && q != '"') {
        throw error("expected a quoted string");
      }
      int end = s.indexOf(q, i + 1);
      if (end < 0) {
        throw error("unterminated string");
      }
      String v = s.substring(i + 1, end);
      if (v.indexOf('\\') >= 0) {
        throw error("escape sequences in strings are not supported");
      }
      i = end + 1;
      return v;
    }

    private void expect(char c) {
      if (peek() != c) {
        throw error("expected '" + c + "'");
      }
      i++;
    }

    private char peek() {
      if (i >= s.length()) {
        throw error("header ends early");
      }
      return s.charAt(i);
    }

    private void skipSpace() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }

    private BadInputException error(String why) {
      String shown = s.strip();
      if (shown.length() > 120) {
        shown = shown.substring(0, 120) + "...";
      }
      return Safetensors.bad(file, "bad header dict at character " + i + ": " + why + " in " + Safetensors.quote(shown));
    }
  }
}
