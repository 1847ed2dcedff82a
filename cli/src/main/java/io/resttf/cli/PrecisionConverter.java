package io.resttf.cli;

import io.resttf.model.Precision;
import io.resttf.tensor.BadInputException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --precision fp32|bf16}; anything else is a one-line usage error. */
final class PrecisionConverter implements ITypeConverter<Precision> {
  @Override
  public Precision convert(String value) {
    try {
      return Precision.parse(value);
    } catch (BadInputException e) {
      throw new TypeConversionException("'" + value + "' is not fp32 or bf16");
    }
  }
}
