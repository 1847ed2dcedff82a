/**
 * PyTorch checkpoints: the zip (torch 1.6+) and legacy (pre-1.6 pickle stream) readers, which read
 * storages within bounds the file itself cannot raise, the materializer that turns tensor references into
 * host tensors, and a writer of torch-loadable zip checkpoints.
 */
package io.resttf.convert.torch;
