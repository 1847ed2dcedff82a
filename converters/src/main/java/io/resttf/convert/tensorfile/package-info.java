/** Single-purpose tensor files: .safetensors (state dicts) and .npy (one array), read strictly, written atomically. */
package io.resttf.convert.tensorfile;
