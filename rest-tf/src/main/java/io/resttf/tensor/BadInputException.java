package io.resttf.tensor;

/**
 * The user's input (a file, a shape, a config, a flag) is wrong. The message is one line that names the
 * thing and the reason; the CLI prints it as is and exits with code 2.
 */
public class BadInputException extends RuntimeException {
  public BadInputException(String message) {
    super(message);
  }

  public BadInputException(String message, Throwable cause) {
    super(message, cause);
  }
}
