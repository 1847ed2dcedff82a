package io.resttf.bench.ort;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ONNX Runtime peer of {@code rest-tf bench}: one exported ResT / ResTv2 model (bench/onnx/export_onnx.py) on
 * the CPU execution provider, same protocol (random standard-normal NCHW float32 input, warm-up runs, then
 * timed runs of the whole network; images/s = batch * iters / sum of the timed runs; nearest-rank
 * percentiles). Prints one line of JSON on stdout; everything else goes to stderr.
 *
 * <pre>
 * java -jar rest-tf-bench-ort.jar --model DIR/restv2_tiny.onnx [--batch 1] [--size 224] [--iters 20]
 *     [--warmup 3] [--threads 2] [--seed 0] [--opt all] [--check]
 * </pre>
 *
 * {@code --check} first runs DIR/NAME.input.npy through the model and compares with DIR/NAME.logits.npy
 * (the reference logits export_onnx.py wrote: the PyTorch model run in float64, stored as float32): prints
 * the max abs difference on stderr, exits 1 above 1e-4. If DIR/NAME.logits_fp32.npy (PyTorch's float32
 * logits) is there, the differences to it are printed too, for comparison.
 * {@code --iters 0} runs only the check.
 */
public final class OrtBench {

    static final double CHECK_TOLERANCE = 1e-4;

    private OrtBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args a;
        try {
            a = Args.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(Args.USAGE);
            System.exit(2);
            return;
        }
        if (a == null) {
            System.out.println(Args.USAGE);
            return;
        }
        int rc;
        try {
            rc = run(a);
        } catch (IOException | OrtException e) {
            System.err.println("error: " + e.getMessage());
            rc = 2;
        }
        System.exit(rc);
    }

    static int run(Args a) throws OrtException, IOException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String version = env.getVersion();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(a.threads);
            opts.setInterOpNumThreads(1);
            opts.setOptimizationLevel(a.opt);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            if (a.profile != null) {
                // ORT's own trace (chrome-trace JSON, one event per node run); bench/ort/profile_summary.py
                // sums it per op type, as rest-tf bench --profile does for TensorFlow.
                opts.enableProfiling(a.profile);
            }
            try (OrtSession session = env.createSession(a.model.toString(), opts)) {
                String inputName = session.getInputNames().iterator().next();
                int size = a.size > 0 ? a.size : staticSpatialSize(session.getInputInfo().get(inputName), 224);
                System.err.printf(Locale.ROOT, "# onnxruntime %s, model %s, input %s, %d intra-op threads%n",
                        version, a.model, inputName, a.threads);

                if (a.check) {
                    double[] diff = check(env, session, inputName, a.model);
                    boolean ok = diff[0] <= CHECK_TOLERANCE;
                    System.err.printf(Locale.ROOT,
                            "check: max abs diff to the reference logits %.3g (%s, tolerance %.0e)%n",
                            diff[0], ok ? "ok" : "FAIL", CHECK_TOLERANCE);
                    if (diff.length == 3) {
                        System.err.printf(Locale.ROOT,
                                "       (to PyTorch's float32 logits %.3g; PyTorch float32 to the reference %.3g)%n",
                                diff[1], diff[2]);
                    }
                    if (!ok) {
                        return 1;
                    }
                }
                if (a.iters == 0) {
                    return 0;
                }

                long[] shape = {a.batch, 3, size, size};
                FloatBuffer input = ByteBuffer.allocateDirect(Math.multiplyExact(a.batch * 3 * size, size) * 4)
                        .order(ByteOrder.nativeOrder()).asFloatBuffer();
                Random rng = new Random(a.seed);
                while (input.hasRemaining()) {
                    input.put((float) rng.nextGaussian());
                }
                input.rewind();

                double[] ms = new double[a.iters];
                try (OnnxTensor x = OnnxTensor.createTensor(env, input, shape)) {
                    Map<String, OnnxTensor> feed = Map.of(inputName, x);
                    for (int i = 0; i < a.warmup; i++) {
                        try (OrtSession.Result r = session.run(feed)) {
                            r.get(0);
                        }
                    }
                    for (int i = 0; i < a.iters; i++) {
                        long t0 = System.nanoTime();
                        try (OrtSession.Result r = session.run(feed)) {
                            ms[i] = (System.nanoTime() - t0) / 1e6;
                        }
                    }
                }
                double sum = Arrays.stream(ms).sum();
                double[] s = ms.clone();
                Arrays.sort(s);
                System.out.println(String.format(Locale.ROOT,
                        "{\"runtime\":\"onnxruntime-%s\",\"model\":\"%s\",\"batch\":%d,\"size\":%d,\"threads\":%d,"
                                + "\"iters\":%d,\"images_per_s\":%.3f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
                                + "\"p99\":%.3f,\"min\":%.3f}}",
                        version, jsonEscape(modelName(a.model)), a.batch, size, a.threads, a.iters,
                        a.batch * a.iters / (sum / 1e3), percentile(s, 50), percentile(s, 90), percentile(s, 99),
                        s[0]));
                if (a.profile != null) {
                    System.err.println("profile: " + session.endProfiling());
                }
                return 0;
            }
        }
    }

    /**
     * Runs NAME.input.npy and returns the max abs difference to NAME.logits.npy (the reference) and, when
     * NAME.logits_fp32.npy (PyTorch's own float32 run) is there, to that and between it and the reference.
     */
    static double[] check(OrtEnvironment env, OrtSession session, String inputName, Path model)
            throws OrtException, IOException {
        String stem = modelName(model);
        Path dir = model.toAbsolutePath().getParent();
        Npy in = Npy.read(dir.resolve(stem + ".input.npy"));
        Npy want = Npy.read(dir.resolve(stem + ".logits.npy"));
        Path fp32File = dir.resolve(stem + ".logits_fp32.npy");
        Npy fp32 = Files.isRegularFile(fp32File) ? Npy.read(fp32File) : null;
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(in.data), in.shape);
             OrtSession.Result r = session.run(Map.of(inputName, x))) {
            OnnxTensor y = (OnnxTensor) r.get(0);
            long[] gotShape = y.getInfo().getShape();
            if (!Arrays.equals(gotShape, want.shape)) {
                throw new IOException("output shape " + Arrays.toString(gotShape) + " != logits.npy shape "
                        + Arrays.toString(want.shape));
            }
            FloatBuffer buf = y.getFloatBuffer();
            float[] got = new float[buf.remaining()];
            buf.get(got);
            if (fp32 == null || !Arrays.equals(fp32.shape, want.shape)) {
                return new double[] {maxAbsDiff(got, want.data)};
            }
            return new double[] {maxAbsDiff(got, want.data), maxAbsDiff(got, fp32.data),
                maxAbsDiff(fp32.data, want.data)};
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < b.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= max)) {
                max = d; // NaN propagates (and fails the check)
            }
        }
        return max;
    }

    /** Nearest-rank percentile of sorted values (as rest-tf bench and bench/pytorch/bench.py). */
    static double percentile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static int staticSpatialSize(NodeInfo info, int fallback) {
        if (info.getInfo() instanceof TensorInfo t) {
            long[] shape = t.getShape();
            if (shape.length == 4 && shape[2] > 0 && shape[2] == shape[3]) {
                return (int) shape[2];
            }
        }
        return fallback;
    }

    static String modelName(Path model) {
        String f = model.getFileName().toString();
        return f.endsWith(".onnx") ? f.substring(0, f.length() - 5) : f;
    }

    static String jsonEscape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /** A little-endian float32, C-order .npy file (numpy format versions 1-3). */
    record Npy(long[] shape, float[] data) {
        private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

        static Npy read(Path file) throws IOException {
            if (!Files.isRegularFile(file)) {
                throw new IOException(file + ": no such file (bench/onnx/export_onnx.py writes it beside the model)");
            }
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[6];
            b.get(magic);
            if (magic[0] != (byte) 0x93 || !"NUMPY".equals(new String(magic, 1, 5, StandardCharsets.US_ASCII))) {
                throw new IOException(file + ": not a .npy file");
            }
            int major = b.get();
            b.get(); // minor
            int headerLen = major == 1 ? Short.toUnsignedInt(b.getShort()) : b.getInt();
            byte[] h = new byte[headerLen];
            b.get(h);
            String header = new String(h, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Matcher m = SHAPE.matcher(header);
            if (!header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") || !m.find()) {
                throw new IOException(file + ": want little-endian float32 C order, header " + header.trim());
            }
            List<Long> dims = new ArrayList<>();
            for (String d : m.group(1).split(",")) {
                if (!d.isBlank()) {
                    dims.add(Long.parseLong(d.trim()));
                }
            }
            long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
            long n = Arrays.stream(shape).reduce(1, Math::multiplyExact);
            if (b.remaining() != n * 4) {
                throw new IOException(file + ": " + b.remaining() + " data bytes for shape " + Arrays.toString(shape));
            }
            float[] data = new float[(int) n];
            b.asFloatBuffer().get(data);
            return new Npy(shape, data);
        }
    }

    static final class Args {
        static final String USAGE = "usage: java -jar rest-tf-bench-ort.jar --model FILE.onnx [--batch N] [--size S]"
                + " [--iters N] [--warmup N] [--threads N] [--seed N] [--opt LEVEL] [--check]"
                + " [--profile PREFIX]\n"
                + "  --batch 1, --size: the model's fixed input size or 224, --iters 20 (0: only --check),"
                + " --warmup 3, --threads 2 (intra-op; inter-op 1), --seed 0 (random input)\n"
                + "  --check: run NAME.input.npy beside the model, compare with NAME.logits.npy"
                + " (max abs diff <= 1e-4)\n"
                + "  --opt all|extended|basic|none: ORT graph optimisation level (default all)\n"
                + "  --profile PREFIX: write ORT's per-node trace to PREFIX_<date>.json (warm-up and timed runs)";

        Path model;
        int batch = 1;
        int size = -1;
        int iters = 20;
        int warmup = 3;
        int threads = 2;
        long seed = 0;
        boolean check;
        String profile;
        OrtSession.SessionOptions.OptLevel opt = OrtSession.SessionOptions.OptLevel.ALL_OPT;

        static Args parse(String[] argv) {
            Args a = new Args();
            for (int i = 0; i < argv.length; i++) {
                String k = argv[i];
                switch (k) {
                    case "-h", "--help" -> {
                        return null;
                    }
                    case "--check" -> a.check = true;
                    case "--model", "--batch", "--size", "--iters", "--warmup", "--threads", "--seed", "--opt",
                            "--profile" -> {
                        if (i + 1 >= argv.length) {
                            throw new IllegalArgumentException(k + " needs a value");
                        }
                        String v = argv[++i];
                        try {
                            switch (k) {
                                case "--model" -> a.model = Path.of(v);
                                case "--batch" -> a.batch = positive(k, Integer.parseInt(v));
                                case "--size" -> a.size = positive(k, Integer.parseInt(v));
                                case "--iters" -> a.iters = nonNegative(k, Integer.parseInt(v));
                                case "--warmup" -> a.warmup = nonNegative(k, Integer.parseInt(v));
                                case "--threads" -> a.threads = positive(k, Integer.parseInt(v));
                                case "--opt" -> a.opt = optLevel(v);
                                case "--profile" -> a.profile = v;
                                default -> a.seed = Long.parseLong(v);
                            }
                        } catch (NumberFormatException e) {
                            throw new IllegalArgumentException(k + ": not a number: " + v);
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown argument " + k);
                }
            }
            if (a.model == null) {
                throw new IllegalArgumentException("--model is required");
            }
            if (!Files.isRegularFile(a.model)) {
                throw new IllegalArgumentException("no such model file: " + a.model);
            }
            if (a.iters == 0 && !a.check) {
                throw new IllegalArgumentException("--iters 0 only makes sense with --check");
            }
            return a;
        }

        private static OrtSession.SessionOptions.OptLevel optLevel(String v) {
            return switch (v) {
                case "all" -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
                case "extended" -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
                case "basic" -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
                case "none" -> OrtSession.SessionOptions.OptLevel.NO_OPT;
                default -> throw new IllegalArgumentException("--opt must be all, extended, basic or none, not " + v);
            };
        }

        private static int positive(String k, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException(k + " must be > 0");
            }
            return v;
        }

        private static int nonNegative(String k, int v) {
            if (v < 0) {
                throw new IllegalArgumentException(k + " must be >= 0");
            }
            return v;
        }
    }
}
