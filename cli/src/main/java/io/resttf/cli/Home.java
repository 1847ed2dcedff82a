package io.resttf.cli;

import java.nio.file.Path;

/** Where rest-tf keeps things by default: the repository the launcher lives in ($REST_TF_HOME). */
final class Home {
  private Home() {}

  static Path dir() {
    String h = System.getenv("REST_TF_HOME");
    return h != null && !h.isBlank() ? Path.of(h) : Path.of("");
  }

  /** The default base of exported SavedModels: savedmodels/ in the repository (git-ignored). */
  static Path savedModels() {
    return dir().resolve("savedmodels");
  }
}
