package io.resttf.cli;

import io.resttf.model.ResourceEstimate;
import io.resttf.model.RestConfig;
import io.resttf.model.Variants;
import java.nio.file.Path;
import java.util.Iterator;
import picocli.CommandLine.Option;

/**
 * Which model: {@code --variant NAME} (a released variant) or {@code --config FILE} (a config JSON, e.g. a
 * fixture's config.json or a manifest). Used as an exclusive, required argument group by every verb:
 * {@code @ArgGroup(exclusive = true, multiplicity = "1") ModelOptions model;}.
 */
public final class ModelOptions {
  @Option(
      names = "--variant",
      order = 3, // where a verb lists its options unsorted (train)
      paramLabel = "NAME",
      completionCandidates = VariantNames.class,
      description = "a released variant: ${COMPLETION-CANDIDATES}")
  String variant;

  @Option(
      names = "--config",
      order = 4,
      paramLabel = "FILE",
      description = "a model config JSON (official constructor argument names, snake_case)")
  Path config;

  /**
   * The chosen config, validated, for a verb that builds it: {@link io.resttf.tensor.BadInputException}
   * when it is unknown, invalid, or its weights alone cannot fit in this machine's memory.
   */
  public RestConfig resolve() {
    RestConfig c = resolveConfig();
    ResourceEstimate.requireWeights(describe(), c);
    return c;
  }

  /** The chosen config, validated (within {@link RestConfig}'s bounds), whatever its size. */
  public RestConfig resolveConfig() {
    return variant != null ? Variants.get(variant) : RestConfig.read(config);
  }

  /** "variant rest_lite" or "config path/to/config.json", for reports. */
  public String describe() {
    return variant != null ? "variant " + variant : "config " + config;
  }

  /** For picocli's help and completion: the registry's variant names. */
  static final class VariantNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Variants.names().iterator();
    }
  }
}
