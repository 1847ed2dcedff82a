/**
 * Entry points of the conversion from checkpoint files to TF: {@link io.resttf.convert.CheckpointFiles}
 * (detect and read any supported format), {@link io.resttf.convert.ConfigDetector} (architecture from
 * weights) and {@link io.resttf.convert.Conversion} (load, map, write a TF checkpoint). The formats live
 * in the sub-packages {@code pickle}, {@code torch} and {@code tensorfile}.
 */
package io.resttf.convert;
