package io.resttf.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The two model families: ResT (NeurIPS 2021) and ResTv2 (NeurIPS 2022). */
public enum Family {
  V1("v1", 1e-5),
  V2("v2", 1e-6);

  private final String id;
  private final double layerNormEps;

  Family(String id, double layerNormEps) {
    this.id = id;
    this.layerNormEps = layerNormEps;
  }

  @JsonValue
  public String id() {
    return id;
  }

  /** The official LayerNorm epsilon of the family. */
  public double defaultLayerNormEps() {
    return layerNormEps;
  }

  @JsonCreator
  public static Family parse(String s) {
    for (Family f : values()) if (f.id.equalsIgnoreCase(s)) return f;
    throw new IllegalArgumentException("family must be \"v1\" or \"v2\", got \"" + s + "\"");
  }
}
