package io.resttf.model;

import io.resttf.tensor.BadInputException;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * What running a config costs in memory, computed from its shapes alone (no graph): the trainable
 * parameters, their float32 bytes, and the peak float32 activation bytes for a batch of
 * {@code height}×{@code width} images. Callers check it against the machine with {@link #require} before
 * they build a graph, so that a config or a batch that cannot fit is refused at once with one line
 * instead of hanging while memory runs out.
 *
 * <p>The activation figure is the largest working set of one layer for inference (input and output of a
 * block, q, k/v, the heads' N×M attention scores and their softmax, the MLP's hidden layer before and
 * after GELU), and the sum over every layer for training, where the forward's activations are kept for
 * the backward pass. It is an estimate of the order of magnitude (TF's kernels add scratch buffers, and
 * grappler may fuse some away), which is what refusing the impossible needs. Every size is counted in
 * {@code long} with overflow checks: a size that overflows is refused the same way.
 *
 * @param parameters      trainable parameters
 * @param weightBytes     what the weights take as float32 (times four in training: weights, gradients and
 *                        AdamW's two moments)
 * @param activationBytes peak activation memory as float32 for the batch
 * @param inputBytes      the float32 input batch itself
 */
public record ResourceEstimate(long parameters, long weightBytes, long activationBytes, long inputBytes) {
  /** Largest input height or width accepted (a 16384² image is 268 MP). */
  public static final int MAX_SIDE = 16384;

  private static final long FLOAT_BYTES = 4;

  /** The weights, gradients and the two AdamW moments: four float32 copies of the parameters in training. */
  private static final long TRAINING_WEIGHT_COPIES = 4;

  public long totalBytes() {
    return Math.addExact(Math.addExact(weightBytes, activationBytes), inputBytes);
  }

  /** Parameters, weights and activations of a forward pass on {@code batch} images of {@code height}×{@code width}. */
  public static ResourceEstimate inference(RestConfig c, long batch, long height, long width) {
    return estimate(c, batch, height, width, false);
  }

  /** As {@link #inference}, for a training step: every layer's activations kept, four copies of the weights. */
  public static ResourceEstimate training(RestConfig c, long batch, long height, long width) {
    return estimate(c, batch, height, width, true);
  }

  /**
   * The estimate for this run, refused with one {@link BadInputException} "{@code what}: ..." when it
   * cannot fit in the machine's physical memory, when the input is too large a side, or when a size
   * overflows a long. {@code what} names what the user chose, e.g. "--batch 100000 --size 224".
   */
  public static ResourceEstimate require(String what, RestConfig c, long batch, long height, long width, boolean training) {
    if (batch < 1) throw new BadInputException(what + ": batch must be >= 1, got " + batch);
    if (height > MAX_SIDE || width > MAX_SIDE) {
      throw new BadInputException(what + ": input " + height + "x" + width + " exceeds the largest side, "
          + MAX_SIDE + " pixels");
    }
    ResourceEstimate e;
    try {
      e = estimate(c, batch, height, width, training);
      e.totalBytes();
    } catch (ArithmeticException overflow) {
      throw new BadInputException(what + ": the model's sizes overflow 64-bit arithmetic for batch " + batch
          + " at " + height + "x" + width + "; far beyond any machine's memory");
    }
    long memory = physicalMemoryBytes();
    if (e.totalBytes() > memory) {
      throw new BadInputException(what + ": needs about " + gib(e.totalBytes()) + " of memory ("
          + String.format(Locale.ROOT, "%,d", e.parameters) + " parameters: " + gib(e.weightBytes) + (training ? " with gradients and AdamW state" : "")
          + "; activations for batch " + batch + " at " + height + "x" + width + ": " + gib(e.activationBytes)
          + "), more than this machine's " + gib(memory));
    }
    return e;
  }

  /**
   * Refuses an input batch that a caller holds as one Java float array when it cannot be one (more than
   * {@code Integer.MAX_VALUE - 8} elements) or does not fit the JVM's maximum heap (-Xmx) twice: the array
   * and what holding and handing it on costs besides (its host-tensor copy, the logits, the GC's room).
   * The fuzzer found a batch of 1.2 GB under a 1.5 GB heap passing a one-copy check and ending in an
   * OutOfMemoryError.
   */
  public ResourceEstimate requireInputOnHeap(String what) {
    long elements = inputBytes / FLOAT_BYTES, heap = Runtime.getRuntime().maxMemory();
    if (elements > Integer.MAX_VALUE - 8 || inputBytes > heap / HEAP_COPIES) {
      throw new BadInputException(what + ": the input batch takes " + gib(inputBytes) + " as a Java array, "
          + (elements > Integer.MAX_VALUE - 8 ? "more than one array can hold (2^31 floats)"
              : "and needs about " + HEAP_COPIES + "x that of Java heap, more than the heap's " + gib(heap)
                  + " (REST_TF_JAVA_OPTS=-Xmx... raises it)"));
    }
    return this;
  }

  /** How many times an input batch must fit in the Java heap ({@link #requireInputOnHeap}). */
  static final int HEAP_COPIES = 2;

  /** Refuses a config whose weights alone cannot fit in memory (for verbs that do not know a batch yet). */
  public static ResourceEstimate requireWeights(String what, RestConfig c) {
    return require(what, c, 1, RestConfig.STRIDE, RestConfig.STRIDE, false);
  }

  /**
   * The machine's physical memory (the container's limit where one is set, as the JVM sees it), or the
   * JVM's maximum heap should the platform bean not tell.
   */
  public static long physicalMemoryBytes() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      long total = os.getTotalMemorySize();
      if (total > 0) return total;
    }
    return Runtime.getRuntime().maxMemory();
  }

  /** "996.6 GiB", or "40.1 MiB" below a GiB. */
  static String gib(long bytes) {
    return bytes < (1L << 30) ? String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20))
        : String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
  }

  private static ResourceEstimate estimate(RestConfig c, long batch, long height, long width, boolean training) {
    long params = parameters(c);
    long weightBytes = Math.multiplyExact(params, FLOAT_BYTES);
    if (training) weightBytes = Math.multiplyExact(weightBytes, TRAINING_WEIGHT_COPIES);
    long inputPerImage = mul(height, width, c.inChans());
    // stem: the input and its first stride-2 map of embed_dims[0]/2 channels, and the stride-4 map
    long h = height / 2, w = width / 2;
    long stem = Math.addExact(Math.addExact(inputPerImage, mul(h, w, c.dim(0) / 2, 2)), mul(h / 2, w / 2, c.dim(0), 2));
    long peak = stem, sum = stem;
    h /= 2;
    w /= 2;
    for (int s = 0; s < RestConfig.NUM_STAGES; s++) {
      if (s > 0) {
        h /= 2;
        w /= 2;
      }
      long tokens = Math.multiplyExact(h, w);
      int sr = c.srRatio(s);
      long reduced = Math.max(1, (h / sr) * (w / sr));
      long dim = c.dim(s);
      long block = Math.addExact(mul(tokens, dim, 3), mul(reduced, dim, 3)); // in, q, out; reduced map, k, v
      block = Math.addExact(block, mul(c.heads(s), tokens, reduced, 2)); // scores, softmax
      block = Math.addExact(block, mul(tokens, c.mlpHidden(s), 2)); // fc1, GELU
      if (c.family() == Family.V2) block = Math.addExact(block, mul(tokens, dim)); // the upsampled values
      peak = Math.max(peak, block);
      sum = Math.addExact(sum, Math.multiplyExact(block, c.depth(s)));
    }
    long perImage = training ? sum : peak;
    return new ResourceEstimate(params, weightBytes, mul(perImage, batch, FLOAT_BYTES), mul(inputPerImage, batch, FLOAT_BYTES));
  }

  /**
   * Trainable parameters of {@code c}, as the official state_dict holds them (BatchNorm running statistics
   * are buffers, not counted): equal to {@code RestNetwork}'s count, without building it.
   */
  public static long parameters(RestConfig c) {
    long total = 0;
    for (long row : parameterRows(c)) total = Math.addExact(total, row);
    return total;
  }

  /**
   * {@link #parameters} by row as {@code rest-tf summary} prints them: stage 1 to 4 (a stage's patch
   * embedding, the stem for stage 1, and its blocks), then the head (final norm and classifier).
   */
  public static long[] parameterRows(RestConfig c) {
    long[] rows = new long[RestConfig.NUM_STAGES + 1];
    long c0 = c.dim(0), hidden = c0 / 2, in = c.inChans();
    if (c.family() == Family.V1) {
      // conv1 + BN, conv2 + BN, conv3 (no bias)
      rows[0] = sum(conv(in, hidden, 3, 1, false), 2 * hidden, conv(hidden, hidden, 3, 1, false), 2 * hidden,
          conv(hidden, c0, 3, 1, false));
    } else {
      // conv + BN, conv + BN, 1×1 conv with bias, LayerNorm
      rows[0] = sum(conv(in, hidden, 3, 1, false), 2 * hidden, conv(hidden, c0, 3, 1, false), 2 * c0,
          conv(c0, c0, 1, 1, true), 2 * c0);
    }
    rows[0] = Math.addExact(rows[0], positionEncoding(c, c0)); // the stem's
    for (int s = 0; s < RestConfig.NUM_STAGES; s++) {
      long dim = c.dim(s), heads = c.heads(s), sr = c.srRatio(s), mlp = c.mlpHidden(s);
      // patch embedding: 3×3 stride-2 conv, norm, position encoding
      if (s > 0) rows[s] = sum(conv(c.dim(s - 1), dim, 3, 1, true), 2 * dim, positionEncoding(c, dim));
      boolean qkvBias = c.family() == Family.V2 || c.qkvBias();
      long block = sum(
          4 * dim, // norm1, norm2
          linear(dim, dim, true), // proj
          linear(dim, mlp, true), linear(mlp, dim, true));
      if (c.attention()) block = sum(block, linear(dim, dim, qkvBias), linear(dim, 2 * dim, qkvBias)); // q, kv
      else if (c.upsampleTarget() == DesignSpace.UpsampleTarget.V) block = sum(block, linear(dim, dim, true)); // v
      if (sr > 1) { // reduction (the dwconv's weights) + sr_norm
        block = sum(block, c.reduction() == DesignSpace.Reduction.DWCONV ? conv(dim, dim, sr + 1, dim, true) : 0, 2 * dim);
      }
      if (c.headInteraction(s)) block = sum(block, conv(heads, heads, 1, 1, true));
      switch (c.upsample()) {
        case PIXEL_SHUFFLE -> block = sum(block, conv(dim, Math.multiplyExact(dim, sr * sr), 3, dim, true), 2 * dim);
        case NEAREST, BILINEAR -> block = sum(block, conv(dim, dim, 3, dim, true), 2 * dim);
        case NONE -> { }
      }
      rows[s] = Math.addExact(rows[s], Math.multiplyExact(block, c.depth(s)));
      if (c.windowStyle() == DesignSpace.WindowStyle.CWIN) rows[s] = Math.addExact(rows[s], conv(dim, dim, 3, dim, true));
    }
    long last = c.dim(RestConfig.NUM_STAGES - 1);
    rows[RestConfig.NUM_STAGES] = 2 * last; // final norm
    if (c.numClasses() > 0) rows[RestConfig.NUM_STAGES] = Math.addExact(2 * last, linear(last, c.numClasses(), true));
    return rows;
  }

  /** PA's and GL's depthwise conv3×3 with bias; nothing without a position encoding. */
  private static long positionEncoding(RestConfig c, long dim) {
    return c.positionEncoding() == DesignSpace.PositionEncoding.NONE ? 0 : conv(dim, dim, 3, dim, true);
  }

  private static long conv(long in, long out, long k, long groups, boolean bias) {
    long weights = mul(out, in / groups, k, k);
    return bias ? Math.addExact(weights, out) : weights;
  }

  private static long linear(long in, long out, boolean bias) {
    long weights = Math.multiplyExact(in, out);
    return bias ? Math.addExact(weights, out) : weights;
  }

  private static long mul(long... factors) {
    long p = 1;
    for (long f : factors) p = Math.multiplyExact(p, f);
    return p;
  }

  private static long sum(long... terms) {
    long s = 0;
    for (long t : terms) s = Math.addExact(s, t);
    return s;
  }
}
