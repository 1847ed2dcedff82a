package io.resttf.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.model.ModelLocation;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.ReadProgress;
import io.resttf.util.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * An official checkpoint turned into a loaded TF model: read the file (any supported format and
 * wrapper), settle the config (given, or detected from the shapes), and load strictly with the
 * {@code drop} / {@code allowMissing} exceptions for fine-tuning with a new head.
 *
 * @param model      the loaded model; the caller closes it
 * @param weights    what was read and how it was wrapped
 * @param detection  the detected config when none was given (else null)
 * @param report     what the load did (fresh variables, dropped keys)
 */
public record Conversion(RestModel model, CheckpointFiles.LoadedWeights weights,
    ConfigDetector.Detection detection, RestModel.LoadReport report, Path source) {

  /** What to convert and how. {@code config} null = detect it. */
  public record Request(Path checkpoint, RestConfig config, boolean ema, Pattern drop, Pattern allowMissing) {
    public static Request of(Path checkpoint, RestConfig config) {
      return new Request(checkpoint, config, false, null, null);
    }
  }

  public static Conversion load(Request request, ReadProgress progress) {
    return fromWeights(request, CheckpointFiles.read(request.checkpoint(), request.ema(), progress));
  }

  /** As {@link #load}, on weights already read from {@code request.checkpoint()}. */
  public static Conversion fromWeights(Request request, CheckpointFiles.LoadedWeights w) {
    ConfigDetector.Detection detection = null;
    RestConfig config = request.config();
    if (config == null) {
      detection = ConfigDetector.detect(w.stateDict());
      config = detection.config();
    }
    RestModel model = RestModel.create(config);
    try {
      RestModel.LoadReport report;
      try {
        report = model.load(w.stateDict(), new RestModel.LoadOptions(request.drop(), request.allowMissing()), 0);
      } catch (BadInputException e) {
        throw new BadInputException(request.checkpoint() + ": " + e.getMessage());
      }
      return new Conversion(model, w, detection, report, request.checkpoint());
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  public RestConfig config() {
    return model.config();
  }

  /** Name of the TF checkpoint prefix inside a conversion directory. */
  public static final String CHECKPOINT_PREFIX = "checkpoint/model.ckpt";
  public static final String CONFIG_FILE = ModelLocation.CONFIG_FILE;
  public static final String REPORT_FILE = "conversion.json";

  /**
   * Writes {@code dir} atomically: {@code config.json} (the model config), {@code checkpoint/model.ckpt.*}
   * (a TF Saver checkpoint of every variable, official key names, TF layouts) and {@code conversion.json}
   * (source file, SHA-256, format, wrapper, fresh variables).
   */
  public void writeTfCheckpoint(Path dir, boolean replace) {
    writeTfCheckpoint(dir, replace, tmp -> { });
  }

  /** As {@link #writeTfCheckpoint(Path, boolean)}, with more content (e.g. a SavedModel) written into the same atomic directory. */
  public void writeTfCheckpoint(Path dir, boolean replace, AtomicFiles.DirectoryBuilder more) {
    String sha = sha256(source);
    AtomicFiles.writeDirectory(dir, replace, tmp -> {
      more.build(tmp);
      Files.writeString(tmp.resolve(CONFIG_FILE), config().toJson());
      Files.createDirectories(tmp.resolve(CHECKPOINT_PREFIX).getParent());
      model.saveCheckpoint(tmp.resolve(CHECKPOINT_PREFIX));
      ObjectNode r = JSON.createObjectNode();
      r.put("source", source.toAbsolutePath().toString());
      r.put("sha256", sha);
      r.put("format", weights.format());
      r.put("wrapper", weights.wrapper());
      if (detection != null) r.put("detected", detection.describe());
      r.put("loaded", report.loaded());
      r.putPOJO("fresh", report.fresh());
      r.putPOJO("dropped", report.dropped());
      Files.writeString(tmp.resolve(REPORT_FILE), JSON.writeValueAsString(r));
    });
  }

  /** Opens a conversion directory written by {@link #writeTfCheckpoint}: its config and restored weights. */
  public static RestModel openTfCheckpoint(Path dir) {
    Path cfg = dir.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(cfg)) throw new BadInputException(dir + ": not a converted checkpoint (no " + CONFIG_FILE + ")");
    RestModel model = RestModel.create(RestConfig.read(cfg));
    try {
      model.restoreCheckpoint(dir.resolve(CHECKPOINT_PREFIX));
      return model;
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Hex SHA-256 of a file's bytes. */
  public static String sha256(Path file) {
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
      byte[] buf = new byte[1 << 20];
      while (in.read(buf) >= 0) {
        // digesting
      }
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")", e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
