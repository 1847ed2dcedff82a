package io.resttf.training;

import java.util.SplittableRandom;

/**
 * All randomness of a run comes from here, derived from the run's seed and the position in the run
 * (what, epoch, step, sample), never from a generator that carries state from step to step. A resumed
 * run therefore draws exactly what the uninterrupted run would have drawn, and data loading can run on
 * any number of threads without changing a single number.
 */
public final class Seeds {
  private Seeds() {}

  /** What a stream of random numbers is for (part of the derivation, so streams never coincide). */
  public enum Stream { INIT, ORDER, AUGMENT, BATCH_FLIP, DROP_PATH, DROPOUT, SPLIT, MIXUP, ERASE, RAND_AUGMENT }

  /** A generator for {@code stream} at position {@code (a, b)} (e.g. epoch, step) of a run seeded with {@code seed}. */
  public static SplittableRandom rng(long seed, Stream stream, long a, long b) {
    return new SplittableRandom(mix(seed, stream.ordinal(), a, b));
  }

  /** A 64-bit value for the same coordinates (e.g. a stateless-random seed fed to the graph). */
  public static long value(long seed, Stream stream, long a, long b) {
    return mix(seed, stream.ordinal(), a, b);
  }

  static long mix(long seed, long stream, long a, long b) {
    long h = splitmix(seed ^ 0x5DEECE66DL);
    h = splitmix(h ^ stream * 0x9E3779B97F4A7C15L);
    h = splitmix(h ^ a * 0xC2B2AE3D27D4EB4FL);
    return splitmix(h ^ b * 0x165667B19E3779F9L);
  }

  private static long splitmix(long z) {
    z += 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  public static int[] permutation(int n, SplittableRandom rng) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) p[i] = i;
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
