package io.resttf.serving;

import io.resttf.model.Preprocessing;
import static io.resttf.serving.ServingSignatures.*;

import io.resttf.model.RestConfig;
import io.resttf.model.RestNetwork;
import io.resttf.model.WeightLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.image.DecodeImage;
import org.tensorflow.op.image.DecodeJpeg;
import org.tensorflow.op.image.ScaleAndTranslate;
import org.tensorflow.op.core.ReduceSum;
import org.tensorflow.op.strings.StringFormat;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TType;

/**
 * The serving graph of one model: the network once, on a {@code pixel_values} input that defaults to
 * the in-graph preprocessing of {@code image_bytes}, so every signature shares one set of variables.
 *
 * <p>{@code pixel_values} is a PlaceholderWithDefault: feeding it (serving_default, features) prunes
 * the image path away; feeding {@code image_bytes} instead (classify_images) computes it from the
 * images. Per-image preprocessing runs in a while loop ({@link Graph#whileLoop}, TF1 control flow)
 * that writes each preprocessed image into a TensorList, so images of different sizes can share a
 * batch.
 */
final class ServingGraph {
  final RestConfig config;
  final Preprocessing preprocessing;
  final int topK;
  /** The largest image (width × height, from its header) that classify_images / preprocess_images decode. */
  final long maxPixels;
  /** Serialized tf.Example strings (the classify signature's {@code inputs}); their {@code image/encoded} feeds imageBytes. */
  final Placeholder<TString> examples;
  final Operand<TString> imageBytes;
  final Operand<TFloat32> preprocessed;
  final Operand<TFloat32> pixelValues;
  final RestNetwork network;
  final Operand<TFloat32> logits;
  final Operand<TFloat32> probabilities;
  final Operand<TInt32> topKIndices;
  final Operand<TString> topKLabels;
  final Operand<TFloat32> topKProbabilities;
  final List<Operand<TFloat32>> stages;
  /** Fills (and reads back) this graph's own network variables from an official state_dict. */
  final WeightLoader loader;

  private ServingGraph(Graph g, RestConfig config, Preprocessing pre, List<String> labels, long maxPixels,
      boolean bf16WeightCopies) {
    this.config = config;
    this.preprocessing = pre;
    this.maxPixels = maxPixels;
    Ops tf = Ops.create(g);
    int c = config.inChans();

    examples = tf.withName(EXAMPLES).placeholder(TString.class, Placeholder.shape(Shape.of(-1)));
    // image_bytes defaults to the examples' image/encoded: feeding image_bytes (classify_images) prunes the parse
    imageBytes = tf.withName(IMAGE_BYTES).placeholderWithDefault(parseImageEncoded(g, tf, examples), Shape.of(-1));
    preprocessed = tf.withName("preprocessed").identity(preprocessBatch(g, tf, imageBytes, pre, c, maxPixels));
    pixelValues = tf.withName(PIXEL_VALUES).placeholderWithDefault(preprocessed, Shape.of(-1, -1, -1, c));

    Operand<TFloat32> checked = checkedPixels(tf, pixelValues, c);

    network = RestNetwork.build(tf, config, checked, null, bf16WeightCopies);
    List<Operand<TFloat32>> st = new ArrayList<>();
    for (int i = 0; i < RestConfig.NUM_STAGES; i++) st.add(tf.withName(stage(i)).identity(network.stage(i)));
    stages = List.copyOf(st);

    if (config.numClasses() > 0) {
      topK = Math.min(MAX_TOP_K, config.numClasses());
      logits = tf.withName(LOGITS).identity(network.logits());
      probabilities = tf.withName(PROBABILITIES).nn.softmax(logits);
      var top = tf.withName("top_k").nn.topK(probabilities, tf.constant(topK), new org.tensorflow.op.nn.TopK.Options[0]);
      topKProbabilities = tf.withName(TOP_K_PROBABILITIES).identity(top.values());
      topKIndices = tf.withName(TOP_K_INDICES).identity(top.indices());
      Operand<TString> table = tf.withName("labels").constant(StandardCharsets.UTF_8, labels.toArray(new String[0]));
      topKLabels = tf.withName(TOP_K_LABELS).gather(table, topKIndices, tf.constant(0));
    } else {
      topK = 0;
      logits = probabilities = topKProbabilities = null;
      topKIndices = null;
      topKLabels = null;
    }

    loader = WeightLoader.create(tf, network.params(), config);
  }

  /**
   * string [N] serialized tf.Example → string [N], each one's {@code image/encoded} (required: a record without
   * it fails naming the key). The V1 ParseExample op, which every TensorFlow since 1.0 registers.
   */
  static Operand<TString> parseImageEncoded(Graph g, Ops tf, Operand<TString> serialized) {
    Ops p = tf.withSubScope("parse_examples");
    Operand<TString> empty; // no example names, and the feature's default (empty: the feature is required)
    try (TString t = TString.tensorOf(org.tensorflow.ndarray.NdArrays.ofObjects(String.class, Shape.of(0)))) {
      empty = p.constantOf(t);
    }
    var op = g.opBuilder("ParseExample", "ParseExample", p.scope())
        .addInput(serialized.asOutput())
        .addInput(empty.asOutput())
        .addInputList(new Output<?>[0])
        .addInputList(new Output<?>[] {p.constant(IMAGE_ENCODED_FEATURE).asOutput()})
        .addInputList(new Output<?>[] {empty.asOutput()})
        .setAttr("sparse_types", new org.tensorflow.proto.DataType[0])
        .setAttr("dense_shapes", new Shape[] {Shape.scalar()})
        .build();
    return op.output(0);
  }


  /**
   * {@code pixelValues} behind an in-graph assertion of the shapes the network takes ([batch >= 1, H, W, c]
   * with H, W multiples of 32 and at least 32; the official code crashes on others), with a readable message.
   */
  static Operand<TFloat32> checkedPixels(Ops tf, Operand<TFloat32> pixelValues, int c) {
    // Readable refusal of shapes the network cannot take (the official code crashes on them).
    Operand<TInt32> shape = tf.shape(pixelValues);
    Operand<TBool> ok = all(tf,
        tf.math.greaterEqual(dim(tf, shape, 0), tf.constant(1)),
        tf.math.greaterEqual(dim(tf, shape, 1), tf.constant(RestConfig.STRIDE)),
        tf.math.greaterEqual(dim(tf, shape, 2), tf.constant(RestConfig.STRIDE)),
        tf.math.equal(tf.math.floorMod(dim(tf, shape, 1), tf.constant(RestConfig.STRIDE)), tf.constant(0)),
        tf.math.equal(tf.math.floorMod(dim(tf, shape, 2), tf.constant(RestConfig.STRIDE)), tf.constant(0)),
        tf.math.equal(dim(tf, shape, 3), tf.constant(c)));
    Operand<TString> msg = tf.strings.stringFormat(List.of(shape), StringFormat.template(
        "pixel_values must be [batch >= 1, height, width, " + c + "] (NHWC) with height and width multiples of 32"
            + " and at least 32; got shape {}"), StringFormat.placeholder("{}"));
    Op check = tf.withName("check_pixel_values").assertThat(ok, List.of(msg));
    return tf.withControlDependencies(List.of(check)).withName("checked_pixel_values").identity(pixelValues);

  }

  static ServingGraph build(Graph g, RestConfig config, Preprocessing pre, List<String> labels, long maxPixels) {
    return new ServingGraph(g, config, pre, labels, maxPixels, false);
  }

  /** As {@link #build(Graph, RestConfig, Preprocessing, List, long)}, with bfloat16 weight copies or not. */
  static ServingGraph build(Graph g, RestConfig config, Preprocessing pre, List<String> labels, long maxPixels,
      boolean bf16WeightCopies) {
    return new ServingGraph(g, config, pre, labels, maxPixels, bf16WeightCopies);
  }

  /** The exported signatures: Predict's method name, Classify's for {@code classify}. */
  List<Signature> signatures() {
    List<Signature> out = new ArrayList<>();
    if (logits != null) {
      out.add(Signature.builder().key(SERVING_DEFAULT).methodName(PREDICT_METHOD)
          .input(PIXEL_VALUES, pixelValues)
          .output(LOGITS, logits)
          .output(PROBABILITIES, probabilities)
          .build());
      out.add(Signature.builder().key(CLASSIFY_IMAGES).methodName(PREDICT_METHOD)
          .input(IMAGE_BYTES, imageBytes)
          .output(PROBABILITIES, probabilities)
          .output(TOP_K_INDICES, topKIndices)
          .output(TOP_K_LABELS, topKLabels)
          .output(TOP_K_PROBABILITIES, topKProbabilities)
          .build());
      out.add(Signature.builder().key(CLASSIFY).methodName(CLASSIFY_METHOD)
          .input(CLASSIFY_INPUTS, examples)
          .output(CLASSIFY_CLASSES, topKLabels)
          .output(CLASSIFY_SCORES, topKProbabilities)
          .build());
    }
    Signature.Builder f = Signature.builder().key(FEATURES).methodName(PREDICT_METHOD).input(PIXEL_VALUES, pixelValues);
    for (int i = 0; i < stages.size(); i++) f.output(stage(i), stages.get(i));
    out.add(f.build());
    out.add(Signature.builder().key(PREPROCESS_IMAGES).methodName(PREDICT_METHOD)
        .input(IMAGE_BYTES, imageBytes)
        .output(PIXEL_VALUES, preprocessed)
        .build());
    return out;
  }

  // ---- preprocessing ----

  private static final byte[] JPEG_MAGIC = {(byte) 0xff, (byte) 0xd8, (byte) 0xff};
  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G'};

  /** string [N] → float32 [N, size, size, c], one image at a time in a while loop. */
  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> preprocessBatch(Graph g, Ops tf, Operand<TString> images, Preprocessing pre, int c,
      long maxPixels) {
    int s = pre.inputSize();
    Ops pt = tf.withSubScope("preprocess");
    Operand<TInt32> n = pt.reshape(pt.shape(images), pt.constant(new int[0]));
    Operand<TInt32> elementShape = pt.constant(new int[] {s, s, c});
    Operand<TType> list0 = pt.tensorListReserve(elementShape, n, TFloat32.class);
    Output<?>[] outs;
    try (ConcreteFunction decodeJpeg = decodeFunction(true, maxPixels);
        ConcreteFunction decodeOther = decodeFunction(false, maxPixels)) {
      g.attachFunction(decodeJpeg);
      g.attachFunction(decodeOther);
      outs = g.whileLoop(
          new Output<?>[] {pt.constant(0).asOutput(), n.asOutput(), images.asOutput(), list0.asOutput()},
          (cg, in, out) -> {
            Ops cond = Ops.create(cg);
            out[0] = cond.math.less((Operand<TInt32>) in[0], (Operand<TInt32>) in[1]).asOutput();
          },
          (bg, in, out) -> {
            Ops b = Ops.create(bg);
            Operand<TInt32> i = (Operand<TInt32>) in[0];
            Operand<TString> bytes = b.gather((Operand<TString>) in[2], i, b.constant(0));
            Operand<TFloat32> img = preprocessOne(b, bytes, i, pre, c, decodeJpeg, decodeOther);
            out[0] = b.math.add(i, b.constant(1)).asOutput();
            out[1] = in[1];
            out[2] = in[2];
            out[3] = b.tensorListSetItem((Operand<TType>) in[3], i, img).asOutput();
          },
          "preprocess_loop");
    }
    return pt.tensorListStack((Operand<TType>) outs[3], elementShape, TFloat32.class);
  }

  /**
   * A function (contents: string scalar, index: int32 scalar) → uint8 [h, w, 3]. The JPEG one decodes
   * with the accurate integer DCT (as PIL / libjpeg's default); the other takes PNG, GIF, BMP and first
   * asserts that the bytes are one of those, naming the image's position in the batch. (The check lives
   * in the function because control dependencies inside a C-API while body break the loop's copy.)
   * Both first read the image's width and height from its header and assert that width × height is at
   * most {@code maxPixels}; the decode depends on that assertion, so a decompression bomb is refused
   * before anything is allocated for its pixels.
   */
  static ConcreteFunction decodeFunction(boolean jpeg, long maxPixels) {
    return ConcreteFunction.create(t -> {
      Placeholder<TString> p = t.placeholder(TString.class, Placeholder.shape(Shape.scalar()));
      Placeholder<TInt32> index = t.placeholder(TInt32.class, Placeholder.shape(Shape.scalar()));
      Operand<TUint8> img;
      if (jpeg) {
        // ExtractJpegShape parses the markers up to the frame header (libjpeg's jpeg_read_header), no pixels.
        Operand<TInt32> hwc = t.image.extractJpegShape(p);
        Op small = pixelLimit(t, index, t.dtypes.cast(dim(t, hwc, 1), TInt64.class),
            t.dtypes.cast(dim(t, hwc, 0), TInt64.class), maxPixels);
        img = t.withControlDependencies(List.of(small))
            .image.decodeJpeg(p, DecodeJpeg.channels(3L), DecodeJpeg.dctMethod("INTEGER_ACCURATE"));
      } else {
        Operand<TInt32> zero = t.constant(0);
        Operand<TString> head4 = t.strings.substr(p, zero, t.constant(4));
        Operand<TBool> known = any(t,
            t.math.equal(head4, t.constant(StandardCharsets.ISO_8859_1, new String(PNG_MAGIC, StandardCharsets.ISO_8859_1))),
            t.math.equal(head4, t.constant("GIF8")),
            t.math.equal(t.strings.substr(p, zero, t.constant(2)), t.constant("BM")));
        Operand<TString> msg = t.strings.stringFormat(List.of(index),
            StringFormat.template("image_bytes[{}] is not a JPEG, PNG, GIF or BMP file"), StringFormat.placeholder("{}"));
        Op check = t.assertThat(known, List.of(msg));
        // The header is read only once the format assertion passed: nothing else of this function is
        // running when it fails, so TF reports that assertion, not the cancellation of a parallel op.
        Op small = headerPixelLimit(t.withControlDependencies(List.of(check)), p, index, maxPixels);
        img = t.withControlDependencies(List.of(small))
            .image.decodeImage(p, TUint8.class, DecodeImage.channels(3L), DecodeImage.expandAnimations(false));
      }
      return Signature.builder().key(jpeg ? "rest_tf_decode_jpeg" : "rest_tf_decode_image")
          .input("contents", p).input("index", index).output("image", img).build();
    });
  }

  /**
   * Asserts width × height <= maxPixels for a PNG, GIF or BMP, reading the dimensions from the header
   * bytes: PNG IHDR (big-endian uint32 at 16, 20), GIF logical screen (little-endian uint16 at 6, 8), BMP
   * info header (little-endian int32 at 18, 22; negative height means top-down). Other bytes pass with 0
   * pixels (the format assertion refuses them); the bytes are padded with zeros so a header cut short
   * reads as 0 and is left to the decoder's own error.
   */
  private static Op headerPixelLimit(Ops t, Operand<TString> p, Operand<TInt32> index, long maxPixels) {
    Operand<TString> padded = t.strings.join(List.of(p,
        t.constant(StandardCharsets.ISO_8859_1, new String(new char[HEADER_BYTES]))));
    Operand<TInt32> zero = t.constant(0);
    Operand<TBool> isPng = t.math.equal(t.strings.substr(p, zero, t.constant(4)),
        t.constant(StandardCharsets.ISO_8859_1, new String(PNG_MAGIC, StandardCharsets.ISO_8859_1)));
    Operand<TBool> isGif = t.math.equal(t.strings.substr(p, zero, t.constant(4)), t.constant("GIF8"));
    Operand<TBool> isBmp = t.math.equal(t.strings.substr(p, zero, t.constant(2)), t.constant("BM"));
    Operand<TInt64> none = t.constant(0L);
    Operand<TInt64> w = t.select(isPng, unsigned(t, padded, 16, 4, true),
        t.select(isGif, unsigned(t, padded, 6, 2, false), t.select(isBmp, bmpDim(t, padded, 18), none)));
    Operand<TInt64> h = t.select(isPng, unsigned(t, padded, 20, 4, true),
        t.select(isGif, unsigned(t, padded, 8, 2, false), t.select(isBmp, bmpDim(t, padded, 22), none)));
    return pixelLimit(t, index, w, h, maxPixels);
  }

  /** Zero bytes appended before reading header fields (the furthest field ends at byte 26). */
  private static final int HEADER_BYTES = 32;

  /** The unsigned integer of {@code n} bytes at {@code offset}, as int64. */
  private static Operand<TInt64> unsigned(Ops t, Operand<TString> bytes, int offset, int n, boolean bigEndian) {
    Operand<TUint8> raw = t.io.decodeRaw(t.strings.substr(bytes, t.constant(offset), t.constant(n)), TUint8.class);
    long[] weights = new long[n];
    for (int k = 0; k < n; k++) weights[k] = 1L << (8 * (bigEndian ? n - 1 - k : k));
    Operand<TInt64> v = t.math.mul(t.dtypes.cast(raw, TInt64.class), t.constant(weights));
    return t.reduceSum(v, t.constant(0));
  }

  /** |int32| little-endian at {@code offset} (BMP dimensions are signed). */
  private static Operand<TInt64> bmpDim(Ops t, Operand<TString> bytes, int offset) {
    Operand<TInt64> u = unsigned(t, bytes, offset, 4, false);
    Operand<TInt64> signed = t.select(t.math.greaterEqual(u, t.constant(1L << 31)), t.math.sub(u, t.constant(1L << 32)), u);
    return t.math.abs(signed);
  }

  /** Asserts width × height <= maxPixels, naming the image's position and the figures. */
  private static Op pixelLimit(Ops t, Operand<TInt32> index, Operand<TInt64> w, Operand<TInt64> h, long maxPixels) {
    Operand<TInt64> pixels = t.math.mul(w, h);
    Operand<TString> msg = t.strings.stringFormat(List.of(index, w, h, pixels, t.constant(maxPixels)),
        StringFormat.template("image_bytes[{}]: {}x{} = {} pixels exceeds the limit of {} pixels (max_pixels)"),
        StringFormat.placeholder("{}"));
    return t.assertThat(t.math.lessEqual(pixels, t.constant(maxPixels)), List.of(msg));
  }

  /** One encoded image → float32 [size, size, c], exactly the official evaluation transform. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<TFloat32> preprocessOne(Ops b, Operand<TString> bytes, Operand<TInt32> index,
      Preprocessing pre, int c, ConcreteFunction decodeJpeg, ConcreteFunction decodeOther) {
    Operand<TInt32> zero = b.constant(0);
    Operand<TUint8> rgb = decodeRgb(b, bytes, index, decodeJpeg, decodeOther);

    // Channels: RGB as PIL convert('RGB') (gray replicated, alpha dropped); one channel as convert('L').
    Operand<TFloat32> img;
    if (c == 1) {
      Operand<TInt32> w = b.constant(new int[] {19595, 38470, 7471});
      Operand<TInt32> luma = b.math.floorDiv(
          b.math.add(b.reduceSum(b.math.mul(b.dtypes.cast(rgb, TInt32.class), w), b.constant(new int[] {2}), ReduceSum.keepDims(true)),
              b.constant(32768)),
          b.constant(65536));
      img = b.dtypes.cast(luma, TFloat32.class);
    } else {
      img = b.dtypes.cast(rgb, TFloat32.class);
    }

    // Resize the shorter side to resize_size, the longer to floor(resize_size * long / short).
    Operand<TInt32> shape = b.shape(rgb);
    Operand<TInt32> h = dim(b, shape, 0), w = dim(b, shape, 1);
    Operand<TInt32> r = b.constant(pre.resizeSize());
    Operand<TBool> hShort = b.math.lessEqual(h, w);
    Operand<TInt32> oh = b.select(hShort, r, b.math.floorDiv(b.math.mul(r, h), w));
    Operand<TInt32> ow = b.select(hShort, b.math.floorDiv(b.math.mul(r, w), h), r);
    Operand<TFloat32> x = b.expandDims(img, zero);
    // PIL: horizontal pass, rounded to uint8, then vertical pass, rounded to uint8.
    x = roundToUint8Range(b, resize(b, x, h, ow, b.constant(1f), ratio(b, ow, w)));
    x = roundToUint8Range(b, resize(b, x, oh, ow, ratio(b, oh, h), b.constant(1f)));

    // Centre crop with torchvision's offsets: round((resized - size) / 2), half to even.
    int s = pre.size();
    Operand<TInt32> top = halfToEven(b, b.math.sub(oh, b.constant(s)));
    Operand<TInt32> left = halfToEven(b, b.math.sub(ow, b.constant(s)));
    Operand<TInt32> begin = b.stack(List.of(zero, top, left, zero));
    Operand<TFloat32> crop = b.reshape(b.slice(x, begin, b.constant(new int[] {1, s, s, c})), b.constant(new int[] {s, s, c}));
    if (pre.pad() > 0) {
      int p = pre.pad();
      crop = b.pad(crop, b.constant(new int[][] {{p, p}, {p, p}, {0, 0}}), b.constant(0f));
    }
    if (pre.upsample() > 1) {
      // nearest neighbour: [n,n,c] -> [n,1,n,1,c] -> tile -> [n·u, n·u, c]
      int n = s + 2 * pre.pad(), u = pre.upsample();
      Operand<TFloat32> e = b.reshape(crop, b.constant(new int[] {n, 1, n, 1, c}));
      e = b.tile(e, b.constant(new int[] {1, u, 1, u, 1}));
      crop = b.reshape(e, b.constant(new int[] {n * u, n * u, c}));
    }

    // ToTensor then Normalize, in float32 and in that order.
    float[] mean = new float[c], std = new float[c];
    for (int k = 0; k < c; k++) {
      mean[k] = pre.mean().get(k).floatValue();
      std[k] = pre.std().get(k).floatValue();
    }
    Operand<TFloat32> unit = b.math.div(crop, b.constant(255f));
    return b.math.div(b.math.sub(unit, b.constant(mean)), b.constant(std));
  }

  /** One encoded image → uint8 [h, w, 3] RGB, through the JPEG or the PNG/GIF/BMP decode function (both size-checked). */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static Operand<TUint8> decodeRgb(Ops b, Operand<TString> bytes, Operand<TInt32> index, ConcreteFunction decodeJpeg,
      ConcreteFunction decodeOther) {
    Operand<TBool> isJpeg = b.math.equal(b.strings.substr(bytes, b.constant(0), b.constant(3)),
        b.constant(StandardCharsets.ISO_8859_1, new String(JPEG_MAGIC, StandardCharsets.ISO_8859_1)));
    // If (not StatelessIf): the non-JPEG branch holds an assertion.
    return (Operand<TUint8>) (Operand) b.ifOp(isJpeg, List.of(bytes, index), List.of(TUint8.class),
        decodeJpeg, decodeOther).output().get(0);
  }

  private static Operand<TFloat32> resize(Ops b, Operand<TFloat32> x, Operand<TInt32> oh, Operand<TInt32> ow,
      Operand<TFloat32> scaleY, Operand<TFloat32> scaleX) {
    return b.image.scaleAndTranslate(x, b.stack(List.of(oh, ow)), b.stack(List.of(scaleY, scaleX)),
        b.constant(new float[] {0f, 0f}), ScaleAndTranslate.kernelType("keyscubic"), ScaleAndTranslate.antialias(true));
  }

  private static Operand<TFloat32> ratio(Ops b, Operand<TInt32> num, Operand<TInt32> den) {
    return b.math.div(b.dtypes.cast(num, TFloat32.class), b.dtypes.cast(den, TFloat32.class));
  }

  /** PIL's clip8: round half up, clamp to [0, 255]. */
  private static Operand<TFloat32> roundToUint8Range(Ops b, Operand<TFloat32> x) {
    return b.clipByValue(b.math.floor(b.math.add(x, b.constant(0.5f))), b.constant(0f), b.constant(255f));
  }

  /** round(d / 2) with Python's round-half-to-even, for d >= 0. */
  private static Operand<TInt32> halfToEven(Ops b, Operand<TInt32> d) {
    Operand<TInt32> two = b.constant(2);
    Operand<TInt32> q = b.math.floorDiv(d, two);
    return b.math.add(q, b.math.mul(b.math.floorMod(d, two), b.math.floorMod(q, two)));
  }

  static Operand<TInt32> dim(Ops tf, Operand<TInt32> shape, int i) {
    return tf.gather(shape, tf.constant(i), tf.constant(0));
  }

  @SafeVarargs
  private static Operand<TBool> all(Ops tf, Operand<TBool>... xs) {
    Operand<TBool> acc = xs[0];
    for (int i = 1; i < xs.length; i++) acc = tf.math.logicalAnd(acc, xs[i]);
    return acc;
  }

  @SafeVarargs
  private static Operand<TBool> any(Ops tf, Operand<TBool>... xs) {
    Operand<TBool> acc = xs[0];
    for (int i = 1; i < xs.length; i++) acc = tf.math.logicalOr(acc, xs[i]);
    return acc;
  }
}
