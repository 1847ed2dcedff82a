/**
 * The safe unpickler: a pickle VM that never resolves a global to code. Calls go through the allow-list
 * in {@link io.resttf.convert.pickle.PickleGlobals}; everything else is refused with a one-line error.
 * The torch storage and tensor references the allow-listed rebuilders produce ({@code TorchStorageRef},
 * {@code TorchTensorRef}, {@code TorchDType}) live here too, so the package depends on nothing above it.
 */
package io.resttf.convert.pickle;
