package io.resttf.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.analysis.FourierAnalysis;
import io.resttf.analysis.LinearCka;
import io.resttf.model.Preprocessing;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.training.ModelSource;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.FashionMnist;
import io.resttf.training.data.Image;
import io.resttf.training.data.ImageFolder;
import io.resttf.training.data.ImagePipeline;
import io.resttf.util.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code rest-tf analyze}: the ResTv2 paper's analyses of a model's blocks, over a set of images. */
@Command(name = "analyze", mixinStandardHelpOptions = true,
    description = "The ResTv2 paper's analyses of what each block's branches compute, over a set of images.",
    subcommands = {AnalyzeCommand.Fourier.class, AnalyzeCommand.Cka.class})
final class AnalyzeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "missing subcommand: see rest-tf analyze --help");
  }

  /** Model, images and output options both analyses share; each block's branches go to {@link #add}. */
  abstract static class Analysis implements Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Spec CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    ModelOptions model;

    @Option(names = "--weights", paramLabel = "PATH",
        description = "the model: a .pth / .safetensors checkpoint (config from --variant / --config, else detected),"
            + " a SavedModel export, a training run or a convert output")
    Path weights;

    @Option(names = "--demo", description = "the embedded Fashion-MNIST ResTv2 (the demo's model) instead of --weights")
    boolean demo;

    @Option(names = "--images", paramLabel = "DIR", description = "a folder of images (.jpg .jpeg .png .bmp .gif, searched recursively)")
    Path images;

    @Option(names = "--fashion-mnist", paramLabel = "N",
        description = "the first N images of Debian's Fashion-MNIST test set instead of --images")
    Integer fashionMnist;

    @Option(names = "--limit", paramLabel = "N", description = "at most N images of the folder (sorted by path)")
    Integer limit;

    @Option(names = "--size", paramLabel = "S", defaultValue = "224",
        description = "crop side for models that record no preprocessing: resize the shorter side to S/0.875,"
            + " centre crop S, ImageNet mean/std (default: ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "images per run (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--max-pixels", paramLabel = "N", defaultValue = "40000000",
        description = "largest image accepted, in pixels, checked from the header (default: ${DEFAULT-VALUE})")
    long maxPixels;

    @Option(names = "--out", required = true, paramLabel = "DIR",
        description = "output directory, written atomically (must not exist unless --force)")
    Path out;

    @Option(names = "--force", description = "replace an existing output directory")
    boolean force;

    abstract String name();

    abstract void add(Map<String, RestModel.BlockBranches> branches);

    /** Writes the results into the (staged) output directory; returns the lines to print. */
    abstract List<String> write(Path dir, String title) throws IOException;

    @Override
    public Integer call() {
      if ((weights == null) == !demo) throw new BadInputException("give the model: --weights PATH or --demo");
      if (demo && model != null) throw new BadInputException("--demo is its own model: leave out --variant / --config");
      if ((images == null) == (fashionMnist == null)) throw new BadInputException("give the images: --images DIR or --fashion-mnist N");
      if (batch < 1 || batch > 1024) throw new BadInputException("--batch must be between 1 and 1024, got " + batch);
      if (limit != null && limit < 1) throw new BadInputException("--limit must be >= 1, got " + limit);
      if (fashionMnist != null && (fashionMnist < 1 || fashionMnist > 10000)) {
        throw new BadInputException("--fashion-mnist must be between 1 and 10000, got " + fashionMnist);
      }
      if (size < RestConfig.STRIDE || size % RestConfig.STRIDE != 0 || size > 4096) {
        throw new BadInputException("--size must be a multiple of 32 from 32 to 4096, got " + size);
      }
      if (maxPixels < 1) throw new BadInputException("--max-pixels must be >= 1, got " + maxPixels);
      Path target = out.toAbsolutePath().normalize();
      if (Files.exists(target) && !force) throw new BadInputException(out + ": already exists (use --force to replace it)");
      List<Path> files = images == null ? List.of() : listImages(images);
      ModelSource source = source();
      RestConfig config = source.config();
      Preprocessing pre = source.preprocessing() != null ? source.preprocessing()
          : Preprocessing.imagenet(config.inChans()).withSize(size);
      ImagePipeline pipeline = new ImagePipeline(pre, config.inChans());
      FashionMnist fm = null;
      if (fashionMnist != null) {
        if (!FashionMnist.installed()) {
          throw new BadInputException(FashionMnist.DEBIAN_DIR + ": Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        }
        if (config.inChans() != 1) throw new BadInputException("--fashion-mnist images are grey: the model takes " + config.inChans() + " channels");
        fm = FashionMnist.load(FashionMnist.Split.TEST);
      }
      int total = fm != null ? fashionMnist : files.size();
      PrintWriter o = spec.commandLine().getOut();
      o.println("model:  " + source.source() + " (" + config.family().id() + ", " + config.totalBlocks() + " blocks)");
      o.println("images: " + total + (fm != null ? " Fashion-MNIST test images" : " from " + images) + ", input "
          + pre.inputSize() + "x" + pre.inputSize());
      ProgressBar bar = ProgressBar.items("analyze " + name(), "images");
      int side = pipeline.inputSize(), per = pipeline.sampleSize();
      try (RestModel m = RestModel.create(config)) {
        m.load(source.stateDict());
        for (int start = 0; start < total; start += batch) {
          int n = Math.min(batch, total - start);
          float[] x = new float[n * per];
          for (int i = 0; i < n; i++) {
            Image img = fm != null ? fashionImage(fm, start + i) : decode(files.get(start + i), config.inChans());
            pipeline.eval(img, x, i * per);
          }
          add(m.branches(HostTensor.ofFloats(new long[] {n, side, side, config.inChans()}, x)));
          bar.update(start + n, total);
        }
      }
      bar.finish(total, total);
      String title = source.source().replaceAll(".*/", "");
      List<String> lines = new ArrayList<>();
      AtomicFiles.writeDirectory(target, force, dir -> lines.addAll(write(dir, title)));
      lines.forEach(o::println);
      o.println("wrote " + out);
      return Main.OK;
    }

    private ModelSource source() {
      if (demo) {
        try {
          return DemoModel.modelSource();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      RestConfig config = model == null ? null : model.resolve();
      return WeightsFiles.reading(weights, p -> ModelSource.read(weights, config, p));
    }

    private Image decode(Path file, int channels) {
      try {
        return ImageFolder.decode(file, channels, maxPixels);
      } catch (Dataset.DecodeException e) {
        throw new BadInputException(file + ": " + e.getMessage());
      }
    }

    private static Image fashionImage(FashionMnist fm, int i) {
      return new Image(FashionMnist.SIDE, FashionMnist.SIDE, 1, fm.image(i));
    }

    private List<Path> listImages(Path dir) {
      if (!Files.isDirectory(dir)) throw new BadInputException(dir + ": not a directory");
      List<Path> out;
      try (Stream<Path> s = Files.walk(dir)) {
        out = s.filter(Files::isRegularFile).filter(p -> {
          String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
          int dot = n.lastIndexOf('.');
          return dot > 0 && ImageFolder.EXTENSIONS.contains(n.substring(dot + 1));
        }).sorted().toList();
      } catch (IOException | UncheckedIOException e) {
        throw new BadInputException(dir + ": cannot list (" + e.getMessage() + ")");
      }
      if (out.isEmpty()) throw new BadInputException(dir + ": no images (.jpg .jpeg .png .bmp .gif)");
      return limit == null || out.size() <= limit ? out : out.subList(0, limit);
    }
  }

  @Command(name = "fourier", mixinStandardHelpOptions = true,
      description = {
        "Figure 3 of the ResTv2 paper for any model: per block, the relative log amplitude of the Fourier-transformed",
        "feature maps (attention branch, upsample branch, their sum; the official fourier_analysis.py's arithmetic),",
        "from frequency 0 to pi. Writes DIR/fourier.json, DIR/fourier.csv and DIR/fourier.png."
      })
  static final class Fourier extends Analysis {
    private final FourierAnalysis analysis = new FourierAnalysis();

    @Override
    String name() {
      return "fourier";
    }

    @Override
    void add(Map<String, RestModel.BlockBranches> branches) {
      analysis.add(branches);
    }

    @Override
    List<String> write(Path dir, String title) throws IOException {
      Map<FourierAnalysis.Branch, Map<String, double[]>> r = analysis.result();
      ObjectNode json = JSON.createObjectNode();
      json.put("images", analysis.images());
      StringBuilder csv = new StringBuilder("branch,block,index,frequency,relative_log_amplitude\n");
      List<String> lines = new ArrayList<>();
      lines.add(String.format(Locale.ROOT, "%-10s %-5s %10s %10s", "block", "branch", "Δ at π/2", "Δ at π"));
      for (Map.Entry<FourierAnalysis.Branch, Map<String, double[]>> e : r.entrySet()) {
        ObjectNode branch = json.putObject(e.getKey().id);
        for (Map.Entry<String, double[]> b : e.getValue().entrySet()) {
          ArrayNode a = branch.putArray(b.getKey());
          double[] v = b.getValue();
          for (int i = 0; i < v.length; i++) {
            a.add(v[i]);
            csv.append(String.format(Locale.ROOT, "%s,%s,%d,%.6f,%.9g%n", e.getKey().id, b.getKey(), i,
                v.length == 1 ? 0.0 : (double) i / (v.length - 1), v[i]));
          }
          lines.add(String.format(Locale.ROOT, "%-10s %-5s %10.3f %10.3f", b.getKey(), e.getKey().id, v[v.length / 2],
              v[v.length - 1]));
        }
      }
      JSON.writeValue(dir.resolve("fourier.json").toFile(), json);
      Files.writeString(dir.resolve("fourier.csv"), csv);
      AnalysisPlots.fourier(dir.resolve("fourier.png"), title, r);
      return lines;
    }
  }

  @Command(name = "cka", mixinStandardHelpOptions = true,
      description = {
        "Figure 4 of the ResTv2 paper for any model: per block, the linear CKA between the attention branch and the",
        "upsample branch (tokens of all images as samples, channels as features). 1 = the same representation up",
        "to rotation and scale. Writes DIR/cka.json, DIR/cka.csv and DIR/cka.png."
      })
  static final class Cka extends Analysis {
    private final LinearCka analysis = new LinearCka();
    private int blocks;

    @Override
    String name() {
      return "cka";
    }

    @Override
    void add(Map<String, RestModel.BlockBranches> branches) {
      blocks = branches.size();
      analysis.add(branches);
    }

    @Override
    List<String> write(Path dir, String title) throws IOException {
      Map<String, Double> r = analysis.result();
      if (r.isEmpty()) {
        throw new BadInputException("cka: no block has both an attention and an upsample branch (the ConvNet variant,"
            + " or upsample \"none\", or ResT v1)");
      }
      ObjectNode json = JSON.createObjectNode();
      StringBuilder csv = new StringBuilder("block,cka\n");
      List<String> lines = new ArrayList<>();
      for (Map.Entry<String, Double> e : r.entrySet()) {
        json.put(e.getKey(), e.getValue());
        csv.append(String.format(Locale.ROOT, "%s,%.9g%n", e.getKey(), e.getValue()));
        lines.add(String.format(Locale.ROOT, "%-10s %.4f", e.getKey(), e.getValue()));
      }
      if (r.size() < blocks) lines.add((blocks - r.size()) + " blocks without both branches left out");
      JSON.writeValue(dir.resolve("cka.json").toFile(), json);
      Files.writeString(dir.resolve("cka.csv"), csv);
      AnalysisPlots.cka(dir.resolve("cka.png"), title, r);
      return lines;
    }
  }
}
