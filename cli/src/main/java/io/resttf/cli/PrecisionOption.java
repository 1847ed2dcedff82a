package io.resttf.cli;

import io.resttf.model.Precision;
import io.resttf.tensor.BadInputException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code --precision fp32|bf16}, shared by the verbs that run a model (a picocli mixin). */
final class PrecisionOption {
  @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32", converter = Converter.class,
      description = "fp32 (default) or bf16: the session computes with oneDNN's bfloat16 mixed precision"
          + " (float32 in and out)")
  Precision precision;

  Precision get() {
    return precision;
  }

  /** Anything but fp32 / bf16 is a one-line usage error. */
  static final class Converter implements ITypeConverter<Precision> {
    @Override
    public Precision convert(String value) {
      try {
        return Precision.parse(value);
      } catch (BadInputException e) {
        throw new TypeConversionException("'" + value + "' is not fp32 or bf16");
      }
    }
  }
}
