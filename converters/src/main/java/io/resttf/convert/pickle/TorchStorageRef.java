package io.resttf.convert.pickle;

/**
 * A torch storage named by a persistent id, not yet read: {@code numel} elements of {@code dtype} starting
 * {@code elemOffset} elements into the root storage {@code rootKey} (legacy files can name views of a root
 * storage; zip files always have offset 0). {@code entry} names where the bytes live, for messages.
 */
public record TorchStorageRef(String rootKey, TorchDType dtype, long elemOffset, long numel, String entry) {}
