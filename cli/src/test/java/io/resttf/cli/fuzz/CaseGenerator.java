package io.resttf.cli.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.HostTensor;
import io.resttf.testing.TestImages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Makes fuzz case {@code index} of a run with seed {@code seed}: always the same command line and the same
 * files for the same (seed, index). Each case mutates the valid {@link Seeds}: configs, flags, images,
 * {@code .npy} inputs, checkpoints, SavedModel / convert directories, unreadable files, unwritable outputs,
 * random and misspelt flags for every verb, and a minority of valid command lines that run the model.
 *
 * <p>Bad values are drawn from what a user could type; values that are valid but merely expensive (a
 * billion iterations, a 2048-pixel benchmark) are not drawn, since running them long is not a bug.
 */
final class CaseGenerator {
  /** Case kinds and their weights (per thousand cases, roughly). */
  static final String[] KINDS = {"config", "flags", "image", "npy", "checkpoint", "savedmodel", "unreadable", "output",
      "verb-flags", "valid"};
  static final int[] WEIGHTS = {20, 10, 5, 10, 11, 5, 2, 4, 30, 3};

  static final List<String> VERBS = List.of("summary", "forward", "bench", "bench-peak", "bench-train", "bench-io", "inspect",
      "convert", "export", "classify", "run", "demo", "bench-soak", "bench-serve", "train", "eval", "analyze", "help");
  static final List<String> VARIANTS = List.of("rest_lite", "rest_small", "rest_base", "rest_large", "restv2_tiny",
      "restv2_small", "restv2_base", "restv2_large");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Seeds seeds;

  CaseGenerator(Seeds seeds) {
    this.seeds = seeds;
  }

  static Random random(long seed, int index) {
    return new Random(mix(mix(seed) + index));
  }

  private static long mix(long z) {
    z += 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  static String kindOf(Random r) {
    int total = Arrays.stream(WEIGHTS).sum(), x = r.nextInt(total);
    for (int i = 0; i < KINDS.length; i++) {
      if ((x -= WEIGHTS[i]) < 0) return KINDS[i];
    }
    throw new AssertionError();
  }

  // ------------------------------------------------------------------ per-case state

  private Random r;
  private Path dir;
  private List<String> targets;
  private int files;

  synchronized FuzzCase generate(long seed, int index, Path caseDir) {
    r = random(seed, index);
    dir = caseDir;
    targets = new ArrayList<>();
    files = 0;
    try {
      Files.createDirectories(caseDir);
      String kind = kindOf(r);
      List<String> args = switch (kind) {
        case "config" -> configCase();
        case "flags" -> flagsCase();
        case "image" -> imageCase();
        case "npy" -> npyCase();
        case "checkpoint" -> checkpointCase();
        case "savedmodel" -> savedModelCase();
        case "unreadable" -> unreadableCase();
        case "output" -> outputCase();
        case "verb-flags" -> verbFlagsCase();
        case "valid" -> validCase();
        default -> throw new AssertionError(kind);
      };
      return new FuzzCase(index, kind, List.copyOf(args), List.copyOf(targets));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ------------------------------------------------------------------ helpers

  private <T> T pick(List<T> xs) {
    return xs.get(r.nextInt(xs.size()));
  }

  @SafeVarargs
  private <T> T pick(T... xs) {
    return xs[r.nextInt(xs.length)];
  }

  private boolean chance(double p) {
    return r.nextDouble() < p;
  }

  private String s(Path p) {
    return p.toString();
  }

  private Path newFile(String suffix, byte[] content) throws IOException {
    Path p = dir.resolve("f" + (files++) + suffix);
    Files.write(p, content);
    return p;
  }

  private Path fresh(String name) {
    return dir.resolve(name + (files++));
  }

  private byte[] read(Path p) throws IOException {
    return Files.readAllBytes(p);
  }

  private Path outDir(String type) {
    Path p = fresh("out");
    targets.add(type + ":" + p);
    return p;
  }

  private List<String> list(String... xs) {
    return new ArrayList<>(List.of(xs));
  }

  /** One to four byte-level mutations; {@code hot} bytes at the start (headers) are hit more often. */
  byte[] mutateBytes(byte[] in, int hot) {
    byte[] b = in;
    int ops = 1 + r.nextInt(chance(0.3) ? 4 : 2);
    for (int k = 0; k < ops; k++) {
      int n = b.length;
      int pos = n == 0 ? 0 : (hot > 0 && chance(0.6) ? r.nextInt(Math.min(hot, n)) : r.nextInt(n));
      switch (r.nextInt(8)) {
        case 0 -> b = Arrays.copyOf(b, n == 0 ? 0 : r.nextInt(n)); // truncate
        case 1 -> { // flip bits
          b = b.clone();
          for (int i = 0, m = 1 + r.nextInt(8); i < m && n > 0; i++) {
            int p = chance(0.5) ? pos : r.nextInt(n);
            b[p] ^= (byte) (1 << r.nextInt(8));
          }
        }
        case 2 -> { // overwrite a range with random bytes
          b = b.clone();
          for (int i = pos, m = Math.min(n, pos + 1 + r.nextInt(64)); i < m; i++) b[i] = (byte) r.nextInt(256);
        }
        case 3 -> { // insert random bytes
          byte[] ins = new byte[1 + r.nextInt(32)];
          r.nextBytes(ins);
          b = splice(b, pos, 0, ins);
        }
        case 4 -> b = splice(b, pos, Math.min(n - pos, 1 + r.nextInt(64)), new byte[0]); // delete
        case 5 -> { // extreme 32-bit value, either byte order
          if (n >= 4) {
            b = b.clone();
            int p = Math.min(pos, n - 4);
            int v = pick(0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0x7fff, 0xffff, 1 << 30);
            ByteBuffer.wrap(b, p, 4).order(chance(0.5) ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN).putInt(v);
          }
        }
        case 6 -> { // extreme 64-bit value
          if (n >= 8) {
            b = b.clone();
            int p = Math.min(pos, n - 8);
            ByteBuffer.wrap(b, p, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(pick(-1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40, 0L));
          }
        }
        default -> { // duplicate a range
          if (n > 0) {
            int len = Math.min(n - pos, 1 + r.nextInt(256));
            b = splice(b, pos, 0, Arrays.copyOfRange(b, pos, pos + len));
          }
        }
      }
    }
    return b;
  }

  private static byte[] splice(byte[] b, int pos, int del, byte[] ins) {
    byte[] out = new byte[b.length - del + ins.length];
    System.arraycopy(b, 0, out, 0, pos);
    System.arraycopy(ins, 0, out, pos, ins.length);
    System.arraycopy(b, pos + del, out, pos + ins.length, b.length - pos - del);
    return out;
  }

  private byte[] randomBytes(int max) {
    byte[] b = new byte[r.nextInt(max + 1)];
    r.nextBytes(b);
    return b;
  }

  /** A path that is not a readable regular file: missing, a directory, empty, random bytes or text. */
  private Path notAFile(String suffix) throws IOException {
    switch (r.nextInt(5)) {
      case 0:
        return dir.resolve("missing" + (files++) + suffix);
      case 1: {
        Path d = fresh("dir");
        Files.createDirectories(d);
        return d;
      }
      case 2:
        return newFile(suffix, new byte[0]);
      case 3:
        return newFile(suffix, randomBytes(4096));
      default:
        return newFile(suffix, "just some text\n".getBytes(StandardCharsets.UTF_8));
    }
  }

  static void copyTree(Path src, Path dst) throws IOException {
    try (Stream<Path> s = Files.walk(src)) {
      for (Path p : s.toList()) {
        Path q = dst.resolve(src.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(q);
        else Files.copy(p, q);
      }
    }
  }

  // ------------------------------------------------------------------ bad values

  /** Values no numeric flag should take quietly; none of them asks for a long valid run. */
  private static final List<String> BAD_NUMBERS = List.of("0", "-1", "-2147483648", "2147483648", "99999999999999999999",
      "abc", "", " ", "1.5", "1e3", "0x10", "NaN", "-0", "+5", "1_000", "٣٢", "--", "-", "Infinity", "9223372036854775807",
      "-9223372036854775808", "1,000", "0.0", "1e-400");

  private static final List<String> BAD_FLOATS = List.of("NaN", "Infinity", "-Infinity", "-1", "1e400", "abc", "", "2",
      "-0.0", "1e-400", "1.0000001", "0x1p3", "99999999999999999999");

  private String badNumber() {
    return pick(BAD_NUMBERS);
  }

  // ------------------------------------------------------------------ configs

  private static final List<String> RAW_BAD = List.of("NaN", "Infinity", "-Infinity", "1e400", "-1e400",
      "99999999999999999999999999", "1e9", "1e12", "-1", "0", "32.5", "-0", "2147483648", "-2147483649",
      "9223372036854775808", "\"12\"", "null", "true", "[]", "{}", "\"\"", "[1]", "1e-400", "4.5", "-5", "1e308",
      "\"NaN\"", "0.0", "[[1]]", "{\"a\": 1}");
  private static final List<String> CONFIG_KEYS = List.of("family", "embed_dims", "num_heads", "depths", "sr_ratios",
      "mlp_ratios", "num_classes", "in_chans", "qkv_bias", "apply_transform", "layer_norm_eps", "drop_path_rate");

  /** A mutated config file; {@code heavyOk}: values that are in bounds but expensive are allowed (summary only). */
  Path badConfig(boolean heavyOk) throws IOException {
    ObjectNode cfg = (ObjectNode) JSON.readTree(read(chance(0.6) ? seeds.v2Config() : seeds.v1Config()));
    Map<String, String> raw = new LinkedHashMap<>();
    int ops = 1 + r.nextInt(3);
    for (int k = 0; k < ops; k++) {
      switch (r.nextInt(12)) {
        case 0 -> cfg.remove(pick(CONFIG_KEYS));
        case 1 -> cfg.put(pick("colour", "layer_norm_epsilon", "embed_dim", "depth", "numclasses", "num-heads", "sr_ratio",
            "drop_path", "x".repeat(1 + r.nextInt(300)), "", "Family", "EMBED_DIMS"), pick("red", "1", "[]"));
        case 2 -> { // misspell an existing key
          List<String> keys = new ArrayList<>();
          cfg.fieldNames().forEachRemaining(keys::add);
          String key = pick(keys);
          JsonNode v = cfg.remove(key);
          cfg.set(misspell(key), v);
        }
        case 3, 4 -> { // a scalar field or a list element gets a bad raw value
          String key = pick(CONFIG_KEYS);
          String token = "@@RAW" + raw.size() + "@@";
          raw.put(token, pick(RAW_BAD));
          JsonNode v = cfg.get(key);
          if (v instanceof ArrayNode a && a.size() > 0 && chance(0.7)) a.set(r.nextInt(a.size()), new TextNode(token));
          else cfg.set(key, new TextNode(token));
        }
        case 5 -> { // list of a wrong length
          String key = pick("embed_dims", "num_heads", "depths", "sr_ratios", "mlp_ratios");
          ArrayNode a = JSON.createArrayNode();
          for (int i = 0, n = pick(0, 1, 3, 5, 6, 100); i < n; i++) a.add(pick(1, 2, 4, 8));
          cfg.set(key, a);
        }
        case 6 -> cfg.put("family", pick("v3", "", "V2", "resnet", "v1 ", "v2\u0000"));
        case 7 -> { // sizes that would blow memory
          ArrayNode a = JSON.createArrayNode();
          if (heavyOk) {
            for (int i = 0; i < 4; i++) a.add(pick(4096, 8192, 16384, 32768, 65536));
            cfg.set("embed_dims", a);
            if (chance(0.5)) {
              ArrayNode d = JSON.createArrayNode();
              for (int i = 0; i < 4; i++) d.add(pick(1, 1000, 1001, 10000000));
              cfg.set("depths", d);
            }
          } else {
            // far beyond the machine: refused by the bounds or by the memory estimate
            for (int i = 0; i < 4; i++) a.add(pick(32768, 65536, 65537, 1000000));
            cfg.set("embed_dims", a);
            if (chance(0.3)) {
              ArrayNode h = JSON.createArrayNode();
              for (int i = 0; i < 4; i++) h.add(1);
              cfg.set("num_heads", h);
            }
          }
        }
        case 8 -> { // wrapped under "config", or wrapped wrongly
          ObjectNode w = JSON.createObjectNode();
          w.set(pick("config", "model", "Config"), cfg);
          cfg = w;
        }
        case 9 -> { // heads that do not divide, sr not dividing the grid, 0 classes
          String key = pick("num_heads", "sr_ratios", "mlp_ratios");
          ArrayNode a = JSON.createArrayNode();
          for (int i = 0; i < 4; i++) a.add(pick(3, 5, 7, 16, 64, 65, 9, 0));
          cfg.set(key, a);
        }
        case 10 -> { // design-space options: valid, invalid, or valid but not for this family
          switch (r.nextInt(7)) {
            case 0 -> cfg.put("reduction", pick("dwconv", "avg", "max", "conv", "", "AVG"));
            case 1 -> cfg.put("position_encoding", pick("pa", "gl", "none", "le", "PA"));
            case 2 -> cfg.put("upsample", pick("pixel-shuffle", "nearest", "bilinear", "none", "bicubic", "pixel_shuffle"));
            case 3 -> cfg.put("upsample_target", pick("x", "k", "v", "q", ""));
            case 4 -> {
              if (chance(0.5)) cfg.put("attention", false);
              else cfg.put("attention", pick("no", "false", "0"));
            }
            case 5 -> cfg.put("window_style", pick("global", "win", "cwin", "hwin", "swin", ""));
            default -> {
              ArrayNode a = JSON.createArrayNode();
              for (int i = 0, n = pick(3, 4, 4, 4, 5); i < n; i++) a.add(pick(64, 32, 16, 8, 4, 2, 1, 0, 60, -8, 4097));
              cfg.set("window_sizes", a);
              if (chance(0.5)) cfg.put("window_style", pick("win", "cwin", "hwin"));
            }
          }
        }
        default -> cfg.put("num_classes", pick(0, 1, 1000001, -3, Integer.MAX_VALUE));
      }
    }
    String text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfg);
    for (Map.Entry<String, String> e : raw.entrySet()) text = text.replace("\"" + e.getKey() + "\"", e.getValue());
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (chance(0.3)) {
      switch (r.nextInt(12)) {
        case 0 -> bytes = Arrays.copyOf(bytes, r.nextInt(bytes.length)); // truncated JSON
        case 1 -> bytes = (text + pick("}", "garbage", "{}", "\u0000")).getBytes(StandardCharsets.UTF_8);
        case 2 -> bytes = ("\uFEFF" + text).getBytes(StandardCharsets.UTF_8);
        case 3 -> bytes = ("// comment\n" + text).getBytes(StandardCharsets.UTF_8);
        case 4 -> bytes = text.replaceFirst("\\{", "{\"depths\": [1, 1, 1, 1], ").getBytes(StandardCharsets.UTF_8); // duplicate key
        case 5 -> bytes = ("[".repeat(100000) + "]".repeat(100000)).getBytes(StandardCharsets.UTF_8);
        case 6 -> bytes = ("{\"family\": \"" + "v".repeat(5_000_000) + "\"}").getBytes(StandardCharsets.UTF_8);
        case 7 -> bytes = pick("", " \n", "null", "[]", "42", "\"v2\"", "{}").getBytes(StandardCharsets.UTF_8);
        case 8 -> bytes = text.getBytes(StandardCharsets.UTF_16);
        case 9 -> bytes = randomBytes(2048);
        case 10 -> bytes = mutateBytes(bytes, 0);
        default -> bytes = ("{\"a\":" .repeat(5000) + "1" + "}".repeat(5000)).getBytes(StandardCharsets.UTF_8);
      }
    }
    if (chance(0.04)) return notAFile(".json");
    return newFile(".json", bytes);
  }

  String misspell(String key) {
    if (key.isEmpty()) return "x";
    StringBuilder b = new StringBuilder(key);
    int i = r.nextInt(b.length());
    switch (r.nextInt(5)) {
      case 0 -> b.deleteCharAt(i);
      case 1 -> b.insert(i, (char) ('a' + r.nextInt(26)));
      case 2 -> b.setCharAt(i, (char) ('a' + r.nextInt(26)));
      case 3 -> {
        if (i + 1 < b.length()) {
          char c = b.charAt(i);
          b.setCharAt(i, b.charAt(i + 1));
          b.setCharAt(i + 1, c);
        } else b.append('s');
      }
      default -> b.replace(0, b.length(), key.toUpperCase());
    }
    String s = b.toString();
    return s.equals(key) ? key + "_" : s;
  }

  private List<String> configCase() throws IOException {
    int v = r.nextInt(100);
    if (v < 55) return list("summary", "--config", s(badConfig(true)));
    Path cfg = badConfig(false);
    if (v < 70) return list("bench", "--config", s(cfg), "--iters", "1", "--warmup", "0", "--size", "32");
    if (v < 85) {
      return list("forward", "--config", s(cfg), "--weights", s(seeds.safetensors()), "--input", s(seeds.nhwc()),
          "--out", s(outDir("forward")));
    }
    if (v < 90) {
      return list("export", "--checkpoint", s(seeds.safetensors()), "--config", s(cfg), "--name", "m", "--base",
          s(outDir("export")), "--image-size", "32");
    }
    if (v < 95) return list("convert", "--checkpoint", s(seeds.safetensors()), "--config", s(cfg), "--out", s(outDir("convert")));
    return list("bench-train", "--config", s(cfg), "--batch", "1", "--size", "32", "--steps", "1", "--warmup", "0");
  }

  // ------------------------------------------------------------------ flags with bad values

  /** A runnable, cheap command line for each verb (outputs inside the case directory). */
  List<String> template(String verb) throws IOException {
    return switch (verb) {
      case "summary" -> chance(0.5) ? list("summary", "--variant", pick(VARIANTS)) : list("summary", "--config", s(seeds.v1Config()));
      case "forward" -> list("forward", "--weights", s(seeds.safetensors()), "--input", s(seeds.nhwc()), "--layout", "nhwc",
          "--out", s(outDir("forward")));
      case "bench" -> list("bench", "--config", s(seeds.v2Config()), "--batch", "1", "--size", "32", "--iters", "1", "--warmup", "0");
      case "bench-peak" -> list("bench-peak", "--size", "64", "--iters", "1");
      case "bench-train" -> list("bench-train", "--config", s(seeds.v2Config()), "--batch", "1", "--size", "32", "--steps", "1",
          "--warmup", "0");
      case "bench-io" -> list("bench-io", "--file", s(seeds.pth()), "--repeats", "1", "--warmup", "0");
      case "inspect" -> list("inspect", s(pick(seeds.pth(), seeds.safetensors(), seeds.model(), seeds.version())));
      case "convert" -> list("convert", "--checkpoint", s(seeds.safetensors()), "--out", s(outDir("convert")));
      case "export" -> list("export", "--checkpoint", s(seeds.safetensors()), "--name", "m", "--base", s(outDir("export")),
          "--image-size", "32");
      case "classify" -> list("classify", "--model", s(seeds.model()), "--top-k", "2", s(seeds.image("png")));
      case "run" -> list("run", "--model", s(seeds.model()), "--input", "pixel_values=" + seeds.nhwc(), "--out", s(outDir("run")));
      case "demo" -> list("demo", "--base", s(outDir("export")), "--limit", "1", "--batch", "1");
      case "bench-soak" -> list("bench-soak", "--model", s(seeds.model()), "--calls", "2", "--samples", "1", s(seeds.image("png")));
      case "bench-serve" -> list("bench-serve", "--model", s(seeds.model()), "--clients", "1", "--seconds", "1", "--max-batch", "1",
          s(seeds.image("png")));
      case "train" -> list("train", "--config", s(seeds.v2Config()), "--data", s(seeds.folder()), "--epochs", "1", "--batch", "2",
          "--size", "32", "--out", s(outDir("train")));
      case "eval" -> list("eval", "--model", s(seeds.model()), "--data", s(seeds.folder()), "--limit", "2", "--batch", "2");
      case "analyze" -> {
        String what = pick("fourier", "cka");
        yield list("analyze", what, "--weights", s(seeds.safetensors()), "--images", s(seeds.folder()), "--size", "32",
            "--limit", "2", "--batch", "2", "--out", s(outDir("analyze-" + what)));
      }
      case "help" -> list("help", pick(VERBS));
      default -> throw new AssertionError(verb);
    };
  }

  /** Per verb: its numeric and enumerated options, each with the bad values it is given. */
  private List<String> flagsFor(String verb) {
    return switch (verb) {
      case "bench" -> List.of("--batch", "--size", "--iters", "--warmup", "--threads", "--seed", "--profile", "--precision");
      case "bench-peak" -> List.of("--size", "--iters", "--threads");
      case "bench-train" -> List.of("--batch", "--size", "--steps", "--warmup", "--drop-path", "--seed", "--profile", "--precision");
      case "bench-io" -> List.of("--repeats", "--warmup", "--seed", "--variant");
      case "classify" -> List.of("--top-k", "--batch", "--max-pixels", "--precision", "--batch-from");
      case "eval" -> List.of("--limit", "--batch", "--split", "--max-pixels", "--precision");
      case "export" -> List.of("--version", "--image-size", "--max-pixels", "--name", "--version-policy", "--version-label");
      case "bench-soak" -> List.of("--calls", "--samples");
      case "bench-serve" -> List.of("--clients", "--seconds", "--max-batch", "--max-wait-ms", "--batch-threads", "--reference-batch", "--threads");
      case "demo" -> List.of("--limit", "--batch");
      case "forward" -> List.of("--layout", "--precision");
      case "analyze" -> List.of("--size", "--batch", "--limit", "--max-pixels", "--fashion-mnist");
      case "run" -> List.of("--signature", "--input");
      case "train" -> List.of("--epochs", "--batch", "--size", "--lr", "--val-split", "--limit", "--workers", "--threads",
          "--eval-batch", "--warmup-epochs", "--label-smoothing", "--drop-path", "--ema-decay", "--checkpoint-every",
          "--keep-checkpoints", "--beta1", "--beta2", "--eps", "--clip-norm", "--recipe", "--schedule", "--augment", "--export",
          "--freeze", "--num-classes", "--pct-start", "--div-factor", "--final-div-factor", "--rrc-min-scale", "--dropout",
          "--attn-dropout", "--weight-decay", "--min-lr");
      default -> List.of();
    };
  }

  private String badValue(String flag) {
    return switch (flag) {
      case "--precision" -> pick("fp16", "bf32", "", "FP32 ", "int8", "fp64");
      case "--layout" -> pick("chwn", "NCHW ", "", "nhw", "hwc");
      case "--split" -> pick("valid", "", "TEST ", "x", "all,val");
      case "--variant" -> pick("rest_huge", "", "restv3_tiny", "RESTV2", "rest_lite ");
      case "--signature" -> pick("nope", "", "serving_default ", "classify_images", "features", "preprocess_images");
      case "--input" -> pick("pixel_values", "=x.npy", "nope=" + seeds.nhwc(), "pixel_values=", "pixel_values=/no/such.npy",
          "image_bytes=" + seeds.nhwc(), "pixel_values=" + seeds.folder());
      case "--recipe" -> pick("papper", "", "fashion-mnist");
      case "--batch-from" -> pick("tfrecord:", "tfrecord:/no/such-*.tfrecord", "tfrecords:" + seeds.folder(), "", "tfrecord:" + seeds.folder(),
          "tfrecord:" + seeds.image("png"));
      case "--version-policy" -> pick("", "latest:0", "latest:-1", "specific:", "specific:x", "some", "all:2", "latest:99999999999");
      case "--version-label" -> pick("", "=1", "stable", "stable=", "stable=x", "a b=1", "stable=this=1", "canary=99");
      case "--schedule" -> pick("linear", "", "cos");
      case "--augment" -> pick("rrc", "", "flip,none");
      case "--export" -> pick("first", "", "emaa");
      case "--freeze" -> pick("stage5", "stem,,head", "", "all", "stage0");
      case "--name" -> pick("", "../escape", "a/b", ".", "..", "x".repeat(300), " ", "-x", "m\nn", "/abs");
      case "--lr", "--val-split", "--label-smoothing", "--drop-path", "--ema-decay", "--beta1", "--beta2", "--eps",
          "--clip-norm", "--pct-start", "--div-factor", "--final-div-factor", "--rrc-min-scale", "--dropout", "--attn-dropout",
          "--weight-decay", "--min-lr", "--warmup-epochs" -> pick(BAD_FLOATS);
      case "--batch", "--size", "--image-size", "--max-pixels", "--top-k", "--threads", "--clients", "--max-batch", "--workers",
          "--num-classes", "--eval-batch", "--max-wait-ms" ->
          chance(0.3) ? pick("2147483647", "100000", "1000000", "16416", "33", "31", "-32", "11", "65536") : badNumber();
      default -> badNumber(); // counts: iterations, steps, calls, seconds, repeats, epochs, limits
    };
  }

  private static void set(List<String> args, String flag, String value) {
    int i = args.indexOf(flag);
    if (i >= 0 && i + 1 < args.size()) args.set(i + 1, value);
    else {
      // before the positional parameters (if any): after the verb
      args.add(1, value);
      args.add(1, flag);
    }
  }

  private List<String> flagsCase() throws IOException {
    String verb = pick("bench", "bench", "bench-peak", "bench-train", "bench-io", "classify", "classify", "eval", "export", "export",
        "bench-soak", "bench-serve", "demo", "forward", "run", "train");
    List<String> args = template(verb);
    List<String> flags = flagsFor(verb);
    int n = 1 + (chance(0.3) ? 1 : 0);
    for (int k = 0; k < n; k++) {
      String f = pick(flags);
      String v = badValue(f);
      if (chance(0.15)) { // --flag=value form
        args.remove(f);
        args.add(1, f + "=" + v);
        int i = args.indexOf(f);
        if (i >= 0) args.remove(i + 1);
      } else {
        set(args, f, v);
      }
    }
    return args;
  }

  // ------------------------------------------------------------------ images

  Path badImage() throws IOException {
    String f = pick(Seeds.FORMATS);
    byte[] good = read(seeds.image(f));
    String suffix = "." + (chance(0.8) ? f : pick("png", "jpg", "gif", "bmp", "txt", ""));
    switch (r.nextInt(12)) {
      case 0, 1:
        return newFile(suffix, Arrays.copyOf(good, r.nextInt(good.length))); // truncated
      case 2, 3: {
        int w = pick(0, 1, 7000, 20000, 65535, 6000, 40000, 100000), h = pick(0, 1, 7000, 20000, 65535, 6000, 3);
        if (f.equals("bmp") && chance(0.3)) h = -h;
        return newFile(suffix, TestImages.withDimensions(good, w, h)); // lying header
      }
      case 4:
        return seeds.bomb();
      case 5, 6:
        return newFile(suffix, mutateBytes(good, 64));
      case 7:
        return newFile(suffix, randomBytes(8192));
      case 8:
        return notAFile(suffix);
      case 9: { // right magic, nothing else
        byte[] magic = Arrays.copyOf(good, pick(2, 4, 8, 16, 30));
        return newFile(suffix, magic);
      }
      case 10:
        return newFile(suffix, TestImages.encoded(f, pick(1, 2, 31, 33), pick(1, 3, 32))); // valid, tiny
      default:
        return seeds.image(f); // a good one among bad ones
    }
  }

  private List<String> imageCase() throws IOException {
    int v = r.nextInt(100);
    if (v < 85) {
      List<String> args = list("classify", "--model", s(seeds.model()));
      if (chance(0.3)) args.addAll(List.of("--top-k", String.valueOf(1 + r.nextInt(10))));
      for (int i = 0, n = 1 + r.nextInt(3); i < n; i++) args.add(s(badImage()));
      return args;
    }
    if (v < 95) { // an image folder with bad images in it
      Path folder = fresh("folder");
      copyTree(seeds.folder(), folder);
      for (int i = 0, n = 1 + r.nextInt(3); i < n; i++) {
        Path bad = badImage();
        Path dst = folder.resolve(pick("a", "b")).resolve("bad" + i + (bad.getFileName().toString().contains(".") ? "."
            + bad.getFileName().toString().replaceAll(".*\\.", "") : ".png"));
        if (Files.isDirectory(bad)) Files.createDirectories(dst);
        else if (Files.exists(bad)) Files.copy(bad, dst);
      }
      return list("eval", "--model", s(seeds.model()), "--data", s(folder), "--batch", "4");
    }
    return list("bench-soak", "--model", s(seeds.model()), "--calls", "2", "--samples", "1", s(badImage()));
  }

  // ------------------------------------------------------------------ .npy

  static byte[] npy(String magic, int major, String header, int headerLenOverride, byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
    int pre = magic.length() + 2 + (major >= 2 ? 4 : 2);
    int pad = (64 - (pre + h.length + 1) % 64) % 64;
    byte[] hp = new byte[h.length + pad + 1];
    System.arraycopy(h, 0, hp, 0, h.length);
    Arrays.fill(hp, h.length, hp.length - 1, (byte) ' ');
    hp[hp.length - 1] = '\n';
    out.writeBytes(magic.getBytes(StandardCharsets.ISO_8859_1));
    out.write(major);
    out.write(0);
    int len = headerLenOverride >= 0 ? headerLenOverride : hp.length;
    if (major >= 2) out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(len).array());
    else out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) len).array());
    out.writeBytes(hp);
    out.writeBytes(data);
    return out.toByteArray();
  }

  Path badNpy(boolean nchw) throws IOException {
    long[] shape = nchw ? new long[] {1, 3, 32, 32} : new long[] {1, 32, 32, 3};
    String descr = "<f4";
    String fortran = "False";
    String shapeText = null;
    int major = 1;
    String magic = "\u0093NUMPY";
    int headerLen = -1;
    int elemSize = 4;
    boolean nonFinite = false;
    int ops = 1 + r.nextInt(2);
    int dataDelta = 0;
    String extraKey = "";
    boolean dropShape = false;
    for (int k = 0; k < ops; k++) {
      switch (r.nextInt(12)) {
        case 0 -> {
          descr = pick("<f8", ">f4", "<f2", "<i8", "<i4", "|u1", "|b1", "<c8", "|O", "<U3", "|V4", "f4", "<f16", "", "<f4x", "'");
          elemSize = switch (descr) {
            case "<f8", "<i8", "<c8" -> 8;
            case "<f2" -> 2;
            case "|u1", "|b1" -> 1;
            default -> 4;
          };
        }
        case 1 -> fortran = pick("True", "'x'", "0", "None");
        case 2 -> shape = pick(new long[] {}, new long[] {3}, new long[] {32, 32, 3}, new long[] {1, 1, 32, 32, 3},
            new long[] {1, 1, 1, 1, 1, 1}, new long[] {0, 32, 32, 3}, new long[] {2, 32, 32, 3}, new long[] {1, 31, 32, 3},
            new long[] {1, 32, 32, 4}, new long[] {1, 16, 16, 3}, new long[] {1, 32, 32, 1}, new long[] {1, 64, 32, 3},
            new long[] {1, 3, 32, 32}, new long[] {1, 32, 0, 3}, new long[] {3, 32, 32, 3});
        case 3 -> shapeText = pick("(1, 100000, 100000, 3)", "(-1, 32, 32, 3)", "(1, 32, 32, 3.5)", "(1099511627776, 1099511627776, 3, 3)",
            "('a',)", "(1, 32, 32, 3", "[1, 32, 32, 3]", "(9223372036854775807, 2)", "()", "(1, 16384, 16384, 3)",
            "(1,32,32,3,)", "(1, 32, 32, 3) ", "(2147483648, 32, 32, 3)");
        case 4 -> magic = pick("\u0093NUMPZ", "NUMPY", "\u0093numpy", "", "PK\u0003\u0004");
        case 5 -> major = pick(0, 2, 3, 9, 255);
        case 6 -> headerLen = pick(0, 1, 65535, 10, 200);
        case 7 -> dataDelta = pick(-1, -4, -100, -4000, 1, 7, 100);
        case 8 -> nonFinite = true;
        case 9 -> extraKey = pick("'extra': 1, ", "'descr': '<f8', ", "'shape': (1,), ", "'x'");
        case 10 -> dropShape = true;
        default -> {
          return newFile(".npy", mutateBytes(read(nchw ? seeds.nchw() : seeds.nhwc()), 128));
        }
      }
    }
    long count = 1;
    for (long d : shape) count *= d;
    String st = shapeText != null ? shapeText : "(" + String.join(", ", Arrays.stream(shape).mapToObj(Long::toString).toList())
        + (shape.length == 1 ? ",)" : ")");
    String header = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", " + extraKey
        + (dropShape ? "" : "'shape': " + st + ", ") + "}";
    long dataLen = Math.max(0, Math.min(count * elemSize, 1 << 22) + dataDelta);
    byte[] data = new byte[(int) dataLen];
    ByteBuffer bb = ByteBuffer.wrap(data).order(descr.startsWith(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    if (elemSize == 4 && !descr.contains("i")) {
      for (int i = 0; i + 4 <= data.length; i += 4) {
        float x = (float) r.nextGaussian();
        if (nonFinite && r.nextInt(50) == 0) x = pick(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY);
        bb.putFloat(i, x);
      }
    }
    return newFile(".npy", npy(magic, major, header, headerLen, data));
  }

  private List<String> npyCase() throws IOException {
    boolean nchw = chance(0.4);
    Path x = chance(0.05) ? notAFile(".npy") : badNpy(nchw);
    if (chance(0.5)) {
      List<String> args = list("forward", "--weights", s(chance(0.7) ? seeds.safetensors() : seeds.pth()), "--input", s(x),
          "--layout", chance(0.85) ? (nchw ? "nchw" : "nhwc") : (nchw ? "nhwc" : "nchw"), "--out", s(outDir("forward")));
      if (chance(0.2)) args.addAll(List.of("--precision", "bf16"));
      return args;
    }
    String sig = chance(0.85) ? "serving_default" : pick("features", "preprocess_images", "classify_images");
    String name = sig.endsWith("images") ? "image_bytes" : (chance(0.9) ? "pixel_values" : "pixels");
    return list("run", "--model", s(chance(0.7) ? seeds.model() : seeds.version()), "--signature", sig, "--input", name + "=" + x,
        "--out", s(outDir("run")));
  }

  // ------------------------------------------------------------------ checkpoints

  Path badCheckpoint() throws IOException {
    int src = r.nextInt(3);
    Path seed = src == 0 ? seeds.safetensors() : src == 1 ? seeds.pth() : seeds.v1Pth();
    String suffix = src == 0 ? ".safetensors" : ".pth";
    if (chance(0.05)) suffix = pick(".bin", ".pt", ".ckpt", "");
    byte[] b = read(seed);
    switch (r.nextInt(10)) {
      case 0, 1, 2:
        return newFile(suffix, mutateBytes(b, src == 0 ? 2048 : 0));
      case 3:
        return newFile(suffix, Arrays.copyOf(b, r.nextInt(b.length)));
      case 4:
        return newFile(suffix, src == 0 ? safetensorsHeader(b) : zipMutation(b));
      case 5:
        return newFile(suffix, src == 0 ? safetensorsHeader(b) : zipMutation(b));
      case 6, 7:
        return semanticWeights(".safetensors");
      case 8:
        return newFile(".pth", maliciousPickle());
      default:
        return notAFile(suffix);
    }
  }

  private byte[] safetensorsHeader(byte[] b) throws IOException {
    long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
    byte[] data = Arrays.copyOfRange(b, 8 + (int) n, b.length);
    ObjectNode h = (ObjectNode) JSON.readTree(header);
    List<String> keys = new ArrayList<>();
    h.fieldNames().forEachRemaining(k -> { if (!k.equals("__metadata__")) keys.add(k); });
    String key = pick(keys);
    ObjectNode t = (ObjectNode) h.get(key);
    Long lenField = null;
    switch (r.nextInt(9)) {
      case 0 -> t.put("dtype", pick("F64", "I8", "BOOL", "XYZ", "", "F8_E4M3", "C64", "U64"));
      case 1 -> {
        ArrayNode s = JSON.createArrayNode();
        for (int i = 0, m = r.nextInt(6); i < m; i++) s.add(pick(-1L, 0L, 1L, 3L, 1L << 40, Long.MAX_VALUE, 100000L));
        t.set("shape", s);
      }
      case 2 -> {
        ArrayNode o = JSON.createArrayNode();
        o.add(pick(-1L, 0L, 8L, (long) data.length, data.length + 1L, Long.MAX_VALUE, 1L << 40));
        o.add(pick(-1L, 0L, 8L, (long) data.length, data.length + 4L, Long.MAX_VALUE));
        if (chance(0.2)) o.add(3);
        t.set("data_offsets", o);
      }
      case 3 -> h.remove(key);
      case 4 -> h.put("__metadata__", pick("x", "{"));
      case 5 -> t.removeAll();
      case 6 -> h.put(key, pick("string", "1"));
      case 7 -> lenField = pick(0L, 1L, -1L, Long.MAX_VALUE, n + 1, n - 1, (long) b.length, 1L << 40);
      default -> {
        byte[] hb = mutateBytes(header.getBytes(StandardCharsets.UTF_8), 0);
        return concat(lenBytes(hb.length), hb, data);
      }
    }
    byte[] hb = JSON.writeValueAsBytes(h);
    return concat(lenBytes(lenField != null ? lenField : hb.length), hb, data);
  }

  private static byte[] lenBytes(long n) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) out.writeBytes(p);
    return out.toByteArray();
  }

  /** The torch zip with one entry changed: the pickle mutated, an entry dropped or truncated, a junk entry added. */
  private byte[] zipMutation(byte[] zip) throws IOException {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    try (ZipInputStream in = new ZipInputStream(new java.io.ByteArrayInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) entries.put(e.getName(), in.readAllBytes());
    } catch (IOException e) {
      return mutateBytes(zip, 0);
    }
    if (entries.isEmpty()) return mutateBytes(zip, 0); // legacy (non-zip) format
    List<String> names = new ArrayList<>(entries.keySet());
    String pkl = names.stream().filter(x -> x.endsWith("data.pkl")).findFirst().orElse(names.get(0));
    switch (r.nextInt(6)) {
      case 0, 1 -> entries.put(pkl, mutateBytes(entries.get(pkl), 0));
      case 2 -> entries.remove(pick(names));
      case 3 -> {
        String n = pick(names);
        byte[] v = entries.get(n);
        entries.put(n, Arrays.copyOf(v, v.length == 0 ? 0 : r.nextInt(v.length)));
      }
      case 4 -> entries.put(pkl, maliciousPickle());
      default -> {
        Map<String, byte[]> renamed = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : entries.entrySet()) renamed.put(e.getKey().replaceFirst("^[^/]*/", "x/"), e.getValue());
        entries = renamed;
        if (chance(0.5)) entries.put("../evil", new byte[] {1});
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(out)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        z.putNextEntry(new ZipEntry(e.getKey()));
        z.write(e.getValue());
        z.closeEntry();
      }
    }
    return out.toByteArray();
  }

  /** A pickle that would run a command if it were unpickled carelessly. */
  private byte[] maliciousPickle() {
    String module = pick("os", "posix", "subprocess", "builtins", "__builtin__", "torch._utils");
    String name = pick("system", "Popen", "eval", "exec", "getattr", "_rebuild_tensor_v2");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x80, 2});
    out.writeBytes(("c" + module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(("(Vtouch " + dir.resolve("pwned") + "\ntR.").getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  /** Well-formed weights that are wrong: NaN / Inf, a wrong shape, a missing or extra key, another dtype. */
  private Path semanticWeights(String suffix) throws IOException {
    Map<String, HostTensor> w = new LinkedHashMap<>(Safetensors.read(seeds.safetensors()));
    List<String> keys = new ArrayList<>(w.keySet());
    String key = pick(keys);
    HostTensor t = w.get(key);
    switch (r.nextInt(5)) {
      case 0 -> {
        float[] v = t.toFloats().clone();
        v[r.nextInt(v.length)] = pick(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY);
        w.put(key, HostTensor.ofFloats(t.shape(), v));
      }
      case 1 -> {
        long[] s = t.shape().clone();
        if (s.length > 0) s[r.nextInt(s.length)] += pick(1, -1);
        long nEl = HostTensor.numElements(s);
        w.put(key, HostTensor.ofFloats(s, new float[(int) Math.max(0, nEl)]));
      }
      case 2 -> w.remove(key);
      case 3 -> w.put(pick("extra.weight", "stage9.0.attn.q.weight", key + "_x"), HostTensor.ofFloats(new long[] {2}, new float[2]));
      default -> {
        for (String k : keys) { // every weight NaN: the model still builds
          HostTensor x = w.get(k);
          float[] v = new float[x.toFloats().length];
          Arrays.fill(v, Float.NaN);
          w.put(k, HostTensor.ofFloats(x.shape(), v));
        }
      }
    }
    Path p = dir.resolve("f" + (files++) + suffix);
    Safetensors.write(p, w, Map.of());
    return p;
  }

  private List<String> checkpointCase() throws IOException {
    Path ckpt = badCheckpoint();
    int v = r.nextInt(100);
    List<String> args;
    if (v < 60) args = list("inspect", s(ckpt));
    else if (v < 80) args = list("forward", "--weights", s(ckpt), "--input", s(seeds.nhwc()), "--out", s(outDir("forward")));
    else if (v < 90) args = list("convert", "--checkpoint", s(ckpt), "--out", s(outDir("convert")));
    else args = list("export", "--checkpoint", s(ckpt), "--name", "m", "--base", s(outDir("export")), "--image-size", "32");
    if (!args.get(0).equals("inspect") && chance(0.15)) args.add("--ema");
    if ((args.get(0).equals("convert") || args.get(0).equals("export")) && chance(0.2)) args.add("--allow-nonfinite");
    if (!args.get(0).equals("inspect") && chance(0.2)) args.addAll(List.of("--config", s(pick(seeds.v2Config(), seeds.v1Config()))));
    return args;
  }

  // ------------------------------------------------------------------ SavedModel and convert directories

  private void corrupt(Path file) throws IOException {
    if (!Files.isRegularFile(file)) return;
    byte[] b = read(file);
    switch (r.nextInt(4)) {
      case 0 -> Files.write(file, Arrays.copyOf(b, b.length == 0 ? 0 : r.nextInt(b.length)));
      case 1 -> Files.write(file, new byte[0]);
      case 2 -> Files.write(file, randomBytes(b.length == 0 ? 64 : Math.min(b.length, 4096)));
      default -> Files.write(file, mutateBytes(b, 256));
    }
  }

  private static List<Path> filesUnder(Path d) throws IOException {
    try (Stream<Path> s = Files.walk(d)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }

  /** A copy of the seed model (NAME/ or NAME/1/) with something broken or missing. */
  Path badModel() throws IOException {
    Path model = fresh("model").resolve("tiny");
    copyTree(seeds.model(), model);
    Path v = model.resolve("1");
    Path target = chance(0.7) ? v : model;
    switch (r.nextInt(14)) {
      case 0 -> io.resttf.util.AtomicFiles.deleteRecursively(v.resolve("variables"));
      case 1 -> Files.delete(v.resolve("variables/variables.index"));
      case 2 -> {
        for (Path p : filesUnder(v.resolve("variables"))) if (p.getFileName().toString().contains(".data-")) Files.delete(p);
      }
      case 3, 4 -> corrupt(v.resolve("saved_model.pb"));
      case 5 -> Files.delete(v.resolve("saved_model.pb"));
      case 6 -> corrupt(pick(filesUnder(v.resolve("variables"))));
      case 7 -> {
        List<Path> assets = Files.isDirectory(v.resolve("assets")) ? filesUnder(v.resolve("assets")) : List.of();
        if (!assets.isEmpty()) {
          Path a = pick(assets);
          if (chance(0.3)) Files.delete(a);
          else if (a.toString().endsWith(".json") && chance(0.5)) {
            Files.writeString(a, pick("{\"max_pixels\": -1}", "{\"max_pixels\": \"x\"}", "{\"image_size\": 0}", "[]",
                "{\"labels\": 5}", "{\"preprocessing\": {\"mean\": [1]}}", "{"));
          } else corrupt(a);
        }
      }
      case 8 -> {
        Path mj = model.resolve("model.json");
        if (Files.exists(mj)) corrupt(mj);
        target = model;
      }
      case 9 -> { // an empty directory, or one holding only junk
        Path e = fresh("empty");
        Files.createDirectories(e);
        if (chance(0.5)) Files.write(e.resolve(pick("saved_model.pbtxt", "variables", "1", "model.json")), randomBytes(100));
        return e;
      }
      case 10 -> { // odd version directories beside (or instead of) 1/
        String name = pick("0", "-1", "abc", "99999999999999999999", "2", ".hidden-1");
        Path odd = model.resolve(name);
        if (chance(0.5)) Files.createDirectories(odd);
        else Files.write(odd, randomBytes(10));
        if (chance(0.5)) io.resttf.util.AtomicFiles.deleteRecursively(v);
        target = model;
      }
      case 11 -> { // variables/ as a file
        io.resttf.util.AtomicFiles.deleteRecursively(v.resolve("variables"));
        Files.write(v.resolve("variables"), randomBytes(16));
      }
      case 12 -> Files.write(v.resolve("saved_model.pb"), read(seeds.pth())); // a checkpoint in the graph's place
      default -> corrupt(pick(filesUnder(v)));
    }
    return target;
  }

  /** A copy of the seed convert output with something broken or missing. */
  Path badConverted() throws IOException {
    Path c = fresh("converted");
    copyTree(seeds.converted(), c);
    List<Path> all = filesUnder(c);
    switch (r.nextInt(5)) {
      case 0 -> Files.delete(pick(all));
      case 1, 2 -> corrupt(pick(all));
      case 3 -> {
        Path cfg = c.resolve("config.json");
        if (Files.exists(cfg)) Files.copy(badConfig(false), cfg, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      default -> io.resttf.util.AtomicFiles.deleteRecursively(c.resolve("checkpoint"));
    }
    return c;
  }

  private List<String> savedModelCase() throws IOException {
    int v = r.nextInt(100);
    if (v < 12) {
      return list("export", "--tf-checkpoint", s(badConverted()), "--name", "m", "--base", s(outDir("export")), "--image-size", "32");
    }
    Path m = badModel();
    if (v < 40) return list("inspect", s(m));
    if (v < 62) return list("classify", "--model", s(m), s(seeds.image(pick(Seeds.FORMATS))));
    if (v < 85) return list("run", "--model", s(m), "--input", "pixel_values=" + seeds.nhwc(), "--out", s(outDir("run")));
    if (v < 93) return list("eval", "--model", s(m), "--data", s(seeds.folder()), "--batch", "4");
    return list("bench-soak", "--model", s(m), "--calls", "2", "--samples", "1", s(seeds.image("png")));
  }

  // ------------------------------------------------------------------ unreadable inputs

  private Path unreadable(Path seed, boolean tree) throws IOException {
    Path p = fresh("locked");
    if (tree) copyTree(seed, p);
    else Files.copy(seed, p);
    Path lock = tree && chance(0.5) ? pick(filesUnder(p)) : p;
    Files.setPosixFilePermissions(lock, PosixFilePermissions.fromString("---------"));
    return p;
  }

  private List<String> unreadableCase() throws IOException {
    switch (r.nextInt(7)) {
      case 0:
        return list("summary", "--config", s(unreadable(seeds.v2Config(), false)));
      case 1:
        return list("inspect", s(unreadable(seeds.safetensors(), false)));
      case 2:
        return list("forward", "--weights", s(seeds.safetensors()), "--input", s(unreadable(seeds.nhwc(), false)), "--out",
            s(outDir("forward")));
      case 3:
        return list("classify", "--model", s(seeds.model()), s(unreadable(seeds.image("png"), false)));
      case 4:
        return list("inspect", s(unreadable(seeds.model(), true)));
      case 5:
        return list("classify", "--model", s(unreadable(seeds.model(), true)), s(seeds.image("jpg")));
      default:
        return list("convert", "--checkpoint", s(unreadable(seeds.pth(), false)), "--out", s(outDir("convert")));
    }
  }

  // ------------------------------------------------------------------ outputs that cannot be written

  private Path badOutput(String type) throws IOException {
    Path p;
    // train: only places that cannot take a run (a writable one would start a real training run)
    int choice = type.equals("train") ? pick(0, 1, 2, 3, 5, 6) : r.nextInt(9);
    switch (choice) {
      case 0 -> p = Path.of("/sys/rest-tf-fuzz/" + pick("out", "a/b"));
      case 1 -> p = Path.of("/proc/rest-tf-fuzz");
      case 2 -> p = newFile(".out", "a file".getBytes(StandardCharsets.UTF_8));
      case 3 -> p = newFile(".out", new byte[0]).resolve("sub");
      case 4 -> {
        p = fresh("readonly");
        Files.createDirectories(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r-xr-xr-x"));
        p = chance(0.5) ? p : p.resolve("out");
      }
      case 5 -> p = dir.resolve("x".repeat(pick(256, 300, 1000)));
      case 6 -> { // an existing, non-empty directory
        p = fresh("existing");
        Files.createDirectories(p);
        Files.writeString(p.resolve("keep.txt"), "user data");
      }
      case 7 -> p = dir.resolve("");
      default -> p = fresh("deep").resolve("a/b/c");
    }
    targets.add("pre-" + type + ":" + p);
    return p;
  }

  private List<String> outputCase() throws IOException {
    switch (r.nextInt(6)) {
      case 0:
        return list("forward", "--weights", s(seeds.safetensors()), "--input", s(seeds.nhwc()), "--out", s(badOutput("forward")));
      case 1: {
        List<String> a = list("convert", "--checkpoint", s(seeds.safetensors()), "--out", s(badOutput("convert")));
        if (chance(0.3)) a.add("--force");
        return a;
      }
      case 2: {
        List<String> a = list("export", "--checkpoint", s(seeds.safetensors()), "--name", chance(0.8) ? "m" : badValue("--name"),
            "--base", s(badOutput("export")), "--image-size", "32");
        if (chance(0.3)) a.add("--force");
        return a;
      }
      case 3:
        return list("run", "--model", s(seeds.model()), "--input", "pixel_values=" + seeds.nhwc(), "--out", s(badOutput("run")));
      case 4:
        return list("train", "--config", s(seeds.v2Config()), "--data", s(seeds.folder()), "--epochs", "1", "--batch", "2", "--size",
            "32", "--out", s(badOutput("train")), "--limit", pick("0", "-1", "abc"));
      default:
        if (chance(0.5)) return list("train", "--resume", s(badOutput("train")));
        Path copy = fresh("model");
        copyTree(seeds.model(), copy);
        targets.add("pre-train:" + copy);
        return list("train", "--resume", s(copy));
    }
  }

  // ------------------------------------------------------------------ random and misspelt flags for every verb

  private List<String> verbFlagsCase() throws IOException {
    if (chance(0.08)) { // a verb that does not exist, or nothing
      String verb = chance(0.5) ? misspell(pick(VERBS)) : pick("", "-", "--", "frobnicate", "--frobnicate", "SUMMARY", "-x");
      List<String> a = list(verb);
      if (chance(0.5)) a.add("--help");
      return a;
    }
    String verb = pick(VERBS);
    List<String> args = template(verb);
    int ops = 1 + r.nextInt(3);
    boolean broken = false;
    for (int k = 0; k < ops || !broken; k++) {
      int op = r.nextInt(9);
      List<Integer> flagIdx = new ArrayList<>();
      for (int i = 1; i < args.size(); i++) if (args.get(i).startsWith("--")) flagIdx.add(i);
      switch (op) {
        case 0 -> {
          args.add(1 + r.nextInt(args.size()), "--" + pick("frobnicate", "batch-size", "out-dir", "verbose", "gpu", "x", "",
              "weights", "input", "model", "config", "variant", "force", "ema"));
          broken = true; // an unknown option (or a known one twice / without its value)
        }
        case 1 -> {
          if (!flagIdx.isEmpty()) {
            int i = pick(flagIdx);
            args.set(i, "--" + misspell(args.get(i).substring(2)));
            broken = true;
          }
        }
        case 2 -> {
          if (!flagIdx.isEmpty()) { // the same option twice
            int i = pick(flagIdx);
            args.add(args.get(i));
            args.add(i + 1 < args.size() ? args.get(i + 1) : "1");
            broken = true;
          }
        }
        case 3 -> {
          if (!flagIdx.isEmpty()) { // an option loses its value
            int i = pick(flagIdx);
            if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
              String f = args.remove(i);
              args.remove(i);
              args.add(f);
              broken = true;
            }
          }
        }
        case 4 -> args.add(1 + r.nextInt(args.size()), pick("--help", "-h", "--version", "-V", "-hV")); // help wins
        case 5 -> {
          args.add(pick("--", "extra", "-", "-x", "--=", "=", "\u00e9t\u00e9", "a b"));
          broken = true;
        }
        case 6 -> {
          if (!flagIdx.isEmpty()) { // a value-less switch given a value, or a value given to the wrong option
            int i = pick(flagIdx);
            args.set(i, args.get(i) + "=" + pick("true", "", "x", "1"));
            broken = true;
          }
        }
        case 7 -> {
          args.add(1 + r.nextInt(args.size()), pick("-" + "b", "---batch", "--Batch", "—batch", "-batch"));
          broken = true;
        }
        default -> { // a required option dropped
          if (!flagIdx.isEmpty() && chance(0.5)) {
            int i = pick(flagIdx);
            String f = args.get(i);
            if (List.of("--weights", "--input", "--out", "--checkpoint", "--name", "--model", "--data", "--config").contains(f)
                && !f.equals("--config")) {
              args.remove(i);
              if (i < args.size() && !args.get(i).startsWith("--")) args.remove(i);
              broken = true;
            }
          }
        }
      }
      if (k > 20) {
        args.add("--frobnicate");
        broken = true;
      }
    }
    return args;
  }

  // ------------------------------------------------------------------ valid command lines

  private List<String> validCase() throws IOException {
    switch (r.nextInt(12)) {
      case 0:
        return list("summary", "--variant", pick(VARIANTS));
      case 1:
        return list("inspect", s(pick(seeds.pth(), seeds.safetensors(), seeds.v1Pth(), seeds.model(), seeds.version())));
      case 2: {
        boolean nchw = chance(0.5);
        return list("forward", "--weights", s(pick(seeds.safetensors(), seeds.pth())), "--input", s(nchw ? seeds.nchw() : seeds.nhwc()),
            "--layout", nchw ? "nchw" : "nhwc", "--out", s(outDir("forward")));
      }
      case 3: {
        List<String> a = list("classify", "--model", s(seeds.model()));
        for (String f : Seeds.FORMATS) if (chance(0.6)) a.add(s(seeds.image(f)));
        if (a.size() == 3) a.add(s(seeds.image("png")));
        return a;
      }
      case 4:
        return list("run", "--model", s(seeds.model()), "--signature", pick("serving_default", "features"), "--input",
            "pixel_values=" + seeds.nhwc(), "--out", s(outDir("run")));
      case 5:
        return list("convert", "--checkpoint", s(pick(seeds.safetensors(), seeds.pth())), "--out", s(outDir("convert")));
      case 6:
        return list("export", "--checkpoint", s(seeds.pth()), "--name", "m", "--base", s(outDir("export")), "--image-size", "32");
      case 7:
        return list("bench", "--config", s(pick(seeds.v2Config(), seeds.v1Config())), "--batch", "1", "--size", "32", "--iters", "1",
            "--warmup", "0");
      case 8:
        return list(pick(VERBS), "--help");
      case 9:
        return list("summary", "--config", s(pick(seeds.v1Config(), seeds.v2Config())));
      case 10:
        return list(pick("--version", "--help", "-h", "-V"));
      default:
        return list("export", "--tf-checkpoint", s(seeds.converted()), "--name", "m", "--base", s(outDir("export")), "--image-size",
            "32");
    }
  }
}
