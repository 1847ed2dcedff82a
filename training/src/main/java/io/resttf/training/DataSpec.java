package io.resttf.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.training.data.FashionMnist;
import io.resttf.model.Preprocessing;
import io.resttf.tensor.BadInputException;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.FashionMnistDataset;
import io.resttf.training.data.ImageFolder;
import io.resttf.training.data.ImagePipeline;
import io.resttf.util.ImageHeader;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a run's images come from and how the model sees them; recorded in the run directory so a
 * resumed run reopens exactly the same data.
 *
 * @param kind          {@link #FASHION_MNIST}, {@link #IMAGE_FOLDER} or {@link #TFRECORD}
 * @param path          the image folder; for TFRecord a {@code data to-tfrecord} directory (train-*.tfrecord,
 *                      val-*.tfrecord) or a file pattern (all for training); null for Fashion-MNIST
 * @param limit         use only {@code limit} images of each split (0 = all): Fashion-MNIST's first ones,
 *                      an image folder's evenly spaced over its (class-sorted) images
 * @param valSplit      image folders without a val/ folder: fraction held out per class (0 = none)
 * @param preprocessing the model's evaluation preprocessing (training crops to the same size)
 * @param maxPixels     image folders: a file whose header declares more pixels (width × height) is refused
 *                      before decoding (default {@link ImageHeader#DEFAULT_MAX_PIXELS})
 */
public record DataSpec(String kind, String path, int limit, double valSplit, Preprocessing preprocessing, long maxPixels) {
  public static final String FASHION_MNIST = "fashion-mnist";
  public static final String IMAGE_FOLDER = "image-folder";
  public static final String TFRECORD = "tfrecord";
  /** How a command line names TFRecord data: {@code tfrecord:DIR} or {@code tfrecord:PATTERN}. */
  public static final String TFRECORD_PREFIX = "tfrecord:";

  public DataSpec {
    ImageHeader.requireValidLimit(maxPixels);
  }

  public DataSpec(String kind, String path, int limit, double valSplit, Preprocessing preprocessing) {
    this(kind, path, limit, valSplit, preprocessing, ImageHeader.DEFAULT_MAX_PIXELS);
  }

  public DataSpec withMaxPixels(long m) {
    return new DataSpec(kind, path, limit, valSplit, preprocessing, m);
  }

  /** Fashion-MNIST (train split to train on, test split to validate) with the official preprocessing. */
  public static DataSpec fashionMnist(int limit) {
    return new DataSpec(FASHION_MNIST, null, limit, 0, ImagePipeline.fashionMnist());
  }

  public static DataSpec imageFolder(Path dir, double valSplit, int limit, Preprocessing preprocessing) {
    return new DataSpec(IMAGE_FOLDER, dir.toAbsolutePath().normalize().toString(), limit, valSplit, preprocessing);
  }

  /**
   * TFRecord shards of tf.Example ({@link io.resttf.training.tfrecord.TfRecordDataset}): a {@code data to-tfrecord}
   * directory (its train and val shards) or a file pattern such as {@code records/train-*.tfrecord}.
   */
  public static DataSpec tfrecord(String pattern, int limit, Preprocessing preprocessing) {
    Path p = Path.of(pattern);
    String abs = java.nio.file.Files.isDirectory(p) ? p.toAbsolutePath().normalize().toString()
        : p.toAbsolutePath().getParent().normalize().resolve(p.getFileName()).toString();
    return new DataSpec(TFRECORD, abs, limit, 0, preprocessing);
  }

  /** The train (and, for a to-tfrecord directory with val shards, validation) records of a TFRecord spec. */
  static Dataset[] openTfRecords(String path, int inChans, long maxPixels) {
    Path p = Path.of(path);
    if (java.nio.file.Files.isDirectory(p)) {
      Dataset train = io.resttf.training.tfrecord.TfRecordDataset.open(p.resolve("train-*.tfrecord").toString(), inChans, maxPixels);
      boolean val;
      try (var s = java.nio.file.Files.list(p)) {
        val = s.anyMatch(x -> x.getFileName().toString().matches("val-.*\\.tfrecord"));
      } catch (java.io.IOException e) {
        throw new BadInputException(p + ": cannot list (" + e.getMessage() + ")");
      }
      return new Dataset[] {train,
          val ? io.resttf.training.tfrecord.TfRecordDataset.open(p.resolve("val-*.tfrecord").toString(), inChans, maxPixels) : null};
    }
    return new Dataset[] {io.resttf.training.tfrecord.TfRecordDataset.open(path, inChans, maxPixels), null};
  }

  /** Opened data: training and (possibly null) validation images, and the pipeline that prepares them. */
  public record Data(Dataset train, Dataset val, ImagePipeline pipeline, String layout) {
    public List<String> classes() {
      return train.classes();
    }
  }

  /** Opens the images for a model with {@code inChans} input channels; {@code seed} picks a held-out split. */
  public Data open(int inChans, long seed) {
    if (limit < 0) throw new BadInputException("--limit must be >= 0, got " + limit);
    preprocessing.validate(io.resttf.model.RestConfig.of(io.resttf.model.Family.V2, List.of(2, 2, 2, 2),
        List.of(1, 1, 1, 1), List.of(1, 1, 1, 1), List.of(1, 1, 1, 1), List.of(1, 1, 1, 1), 0, inChans));
    ImagePipeline pipeline = new ImagePipeline(preprocessing, inChans);
    switch (kind) {
      case FASHION_MNIST -> {
        if (inChans != 1) {
          throw new BadInputException("Fashion-MNIST images have one channel but the model takes " + inChans
              + " (in_chans); use a one-channel config");
        }
        return new Data(FashionMnistDataset.load(FashionMnist.Split.TRAIN, limit),
            FashionMnistDataset.load(FashionMnist.Split.TEST, limit), pipeline,
            "Fashion-MNIST: train split (" + (limit > 0 ? "first " + limit : "60000") + "), test split for validation");
      }
      case IMAGE_FOLDER -> {
        ImageFolder.Split s = ImageFolder.open(Path.of(path), inChans, valSplit, seed, maxPixels);
        Dataset train = limited(s.train(), limit);
        Dataset val = s.val() == null ? null : limited(s.val(), limit);
        return new Data(train, val, pipeline, s.layout());
      }
      case TFRECORD -> {
        Dataset[] d = openTfRecords(path, inChans, maxPixels);
        return new Data(limited(d[0], limit), d[1] == null ? null : limited(d[1], limit), pipeline,
            "TFRecord " + path + (d[1] == null ? " (no validation records)" : " (train and val shards)"));
      }
      default -> throw new BadInputException("unknown data kind " + kind);
    }
  }

  /**
   * The labelled images {@code eval} scores a model on: {@code data} is {@link #FASHION_MNIST} or an image
   * folder; {@code split} auto (val/, or Fashion-MNIST's test split; else all of the folder), val, test,
   * train or all; {@code limit} > 0: only that many (Fashion-MNIST: the first; folders: spread over the
   * classes). The same datasets {@link #open} trains and validates on.
   */
  public static Dataset evaluationSet(String data, String split, int limit, int inChans) {
    return evaluationSet(data, split, limit, inChans, ImageHeader.DEFAULT_MAX_PIXELS);
  }

  /** As {@link #evaluationSet(String, String, int, int)}, refusing images of more than {@code maxPixels} pixels. */
  public static Dataset evaluationSet(String data, String split, int limit, int inChans, long maxPixels) {
    if (FASHION_MNIST.equals(data)) {
      FashionMnist.Split s = switch (split) {
        case "auto", "test", "val" -> FashionMnist.Split.TEST;
        case "train" -> FashionMnist.Split.TRAIN;
        default -> throw new BadInputException("--split for fashion-mnist: test (auto) or train, got " + split);
      };
      return FashionMnistDataset.load(s, limit);
    }
    if (data.startsWith(TFRECORD_PREFIX)) {
      Dataset[] d = openTfRecords(data.substring(TFRECORD_PREFIX.length()), inChans, maxPixels);
      Dataset ds = switch (split) {
        case "auto" -> d[1] != null ? d[1] : d[0];
        case "val", "test" -> {
          if (d[1] == null) throw new BadInputException(data + ": no val-*.tfrecord shards for --split " + split);
          yield d[1];
        }
        case "train", "all" -> d[0];
        default -> throw new BadInputException("--split must be auto, val, train, test or all, got " + split);
      };
      return limited(ds, limit);
    }
    Path dir = Path.of(data);
    ImageFolder.Split s = ImageFolder.open(dir, inChans, 0, 0, maxPixels);
    boolean layout = java.nio.file.Files.isDirectory(dir.resolve("train"));
    Dataset ds = switch (split) {
      case "auto" -> s.val() != null ? s.val() : s.train();
      case "val", "test" -> {
        if (s.val() == null) throw new BadInputException(dir + ": no val/ (or validation/, test/) folder for --split " + split);
        yield s.val();
      }
      case "train" -> {
        if (!layout) throw new BadInputException(dir + ": no train/ folder for --split train");
        yield s.train();
      }
      case "all" -> {
        if (layout) throw new BadInputException(dir + ": has train/ and val/ folders; choose --split train or val");
        yield s.train();
      }
      default -> throw new BadInputException("--split must be auto, val, train, test or all, got " + split);
    };
    return limited(ds, limit);
  }

  /**
   * {@code limit} images spread evenly over {@code d} (whose images are grouped by class, so every class
   * keeps its share).
   */
  public static Dataset limited(Dataset d, int limit) {
    if (limit <= 0 || limit >= d.size()) return d;
    int[] pick = new int[limit];
    for (int i = 0; i < limit; i++) pick[i] = (int) ((long) i * d.size() / limit);
    return new Dataset() {
      @Override
      public int size() {
        return limit;
      }

      @Override
      public List<String> classes() {
        return d.classes();
      }

      @Override
      public int label(int i) {
        return d.label(pick[i]);
      }

      @Override
      public io.resttf.training.data.Image image(int i) throws DecodeException {
        return d.image(pick[i]);
      }

      @Override
      public String describe(int i) {
        return d.describe(pick[i]);
      }

      @Override
      public byte[] encoded(int i) throws DecodeException {
        return d.encoded(pick[i]);
      }
    };
  }

  public ObjectNode toJsonNode() {
    ObjectNode n = TrainOptions.JSON.createObjectNode();
    n.put("kind", kind);
    if (path != null) n.put("path", path);
    n.put("limit", limit);
    n.put("val_split", valSplit);
    n.set("preprocessing", preprocessing.toJsonNode(TrainOptions.JSON));
    n.put("max_pixels", maxPixels);
    return n;
  }

  public static DataSpec fromJson(JsonNode n, String source) {
    if (n == null || !n.isObject() || !n.hasNonNull("kind")) throw new BadInputException(source + ": no data description");
    return new DataSpec(n.get("kind").asText(), n.hasNonNull("path") ? n.get("path").asText() : null,
        n.path("limit").asInt(0), n.path("val_split").asDouble(0),
        Preprocessing.fromJson(n.get("preprocessing"), source),
        n.path("max_pixels").canConvertToLong() ? n.get("max_pixels").asLong() : ImageHeader.DEFAULT_MAX_PIXELS);
  }
}
