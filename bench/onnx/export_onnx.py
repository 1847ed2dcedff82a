"""Exports a ResT / ResTv2 variant (the official code, bench/pytorch/rest_official.py) to ONNX for the
ONNX Runtime peer of the benchmark (bench/ort, issue "Speed: at least as fast as ONNX Runtime").

    /usr/bin/python3 bench/onnx/export_onnx.py --variant restv2_tiny --out DIR [--size 224] [--seed 0]
        [--weights FILE.pth] [--opset 17] [--threads 2] [--plain-instancenorm]

writes
    DIR/VARIANT.onnx              opset 17, input `pixel_values` [batch, 3, size, size] float32 (NCHW, batch
                                  dynamic, spatial size fixed), output `logits` [batch, num_classes]
    DIR/VARIANT.input.npy         a fixed seeded input, [2, 3, size, size] float32
    DIR/VARIANT.logits.npy        the reference logits for it, [2, num_classes] float32: the unmodified
                                  PyTorch model run in float64 (same weights, same input), rounded to float32
    DIR/VARIANT.logits_fp32.npy   PyTorch's own float32 logits for it (for comparison)

so that `java -jar bench/ort/target/rest-tf-bench-ort.jar --model DIR/VARIANT.onnx --check` verifies ONNX
Runtime's output (max abs diff to VARIANT.logits.npy <= 1e-4). If the `onnx` / `onnxruntime` Python
packages happen to be installed the export is also checked here; they are not needed.

Why a float64 reference: ResT v1 (rest_*) is ill-conditioned in float32, above all with random weights.
Its head-interaction InstanceNorm normalises a softmax that is almost uniform (variance ~1e-10, far below
the eps 1e-5), i.e. multiplies tiny deviations by ~300, and the network amplifies rounding from there:
PyTorch's own float32 rest_lite logits move by ~1.5e-4 between 1 and 2 threads and are ~1.5e-4 from the
float64 answer. A float32 reference would make a 1e-4 gate fail on PyTorch's rounding, not ORT's. (ResTv2
is well conditioned: float32 vs float64 ~6e-7.) This is the protocol of the project's parity fixtures.

Export-friendly change (v1 only): nn.InstanceNorm2d (affine=False, no running stats, as the official
code has it) is exported as explicit ops instead of ONNX InstanceNormalization. ORT's CPU
InstanceNormalization kernel computes y = x * s + (-mean * s), which cancels catastrophically here (x ~
0.0204, x - mean ~1e-5) and lands rest_lite's logits ~0.06 away from the exact answer (random weights;
~7e-3 with the project's rest_lite-full fixture weights), where PyTorch float32 is 1.5e-4 (5e-5) away.
The replacement (CenteredInstanceNorm) centres first, with a second centring pass that removes the
rounding of the first mean, then divides by sqrt(var + eps): the same function, checked here on every
export (float64: tweaked vs unmodified model; float32: module outputs). ResTv2 is exported unchanged.

Weights: like bench/pytorch/bench.py, torch.manual_seed(seed) then the official init (random weights; the
speed does not depend on them), or --weights: a state_dict, or a checkpoint holding one under 'model' /
'state_dict' (a 'module.' prefix is stripped; float16 / bfloat16 storages are converted), loaded strictly.

Run it under Debian's /usr/bin/python3 with python3-torch (apt-get install python3-torch
libopenblas0-openmp); only torch and numpy are needed.
"""
import argparse
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pytorch"))
import rest_official  # noqa: E402

CHECK_BATCH = 2


def load_state_dict(path):
    sd = torch.load(path, map_location="cpu")
    for key in ("model", "state_dict"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def build_model(variant, seed, weights=None):
    torch.manual_seed(seed)
    model = rest_official.build(variant).float()
    if weights:
        model.load_state_dict(load_state_dict(weights), strict=True)
    return model.float().eval()


def check_input(variant, size, seed):
    in_chans = rest_official.VARIANTS[variant].get("in_chans", 3)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(CHECK_BATCH, in_chans, size, size, generator=g, dtype=torch.float32)


class CenteredInstanceNorm(nn.Module):
    """nn.InstanceNorm2d(affine=False, track_running_stats=False) as explicit ops, centring before scaling:
    d = x - mean(x); d = d - mean(d) (removes the rounding error of the first mean, which matters when the
    per-instance variance is ~1e-10 and the mean ~0.02); y = d / sqrt(mean(d^2) + eps). Means over H, then
    W are taken in two steps (shorter float32 sums in ORT's ReduceMean). Mathematically the same function."""

    def __init__(self, eps):
        super().__init__()
        self.eps = eps

    @staticmethod
    def _mean(t):
        return t.mean(dim=3, keepdim=True).mean(dim=2, keepdim=True)

    def forward(self, x):
        d = x - self._mean(x)
        d = d - self._mean(d)
        return d / torch.sqrt(self._mean(d * d) + self.eps)


def export_friendly(model):
    """A copy of the model with every nn.InstanceNorm2d replaced by CenteredInstanceNorm; returns
    (copy, number replaced)."""
    m = copy.deepcopy(model)
    n = 0
    for parent in list(m.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.InstanceNorm2d):
                if child.affine or child.track_running_stats:
                    raise ValueError("%s: only affine=False, track_running_stats=False is handled" % name)
                setattr(parent, name, CenteredInstanceNorm(child.eps))
                n += 1
    return m.eval(), n


def check_tweak(model, tweaked, x):
    """max |tweaked - model| over the logits in float64, and over the replaced modules' outputs in float32
    (the same inputs fed to both). Returns (logits_fp64_diff, module_fp32_diff, module_fp32_absmax)."""
    pairs = [(a, b) for a, b in zip(model.modules(), tweaked.modules()) if isinstance(b, CenteredInstanceNorm)]
    seen = []
    hooks = [a.register_forward_hook(lambda mod, inp, out, b=b: seen.append((b(inp[0]), out))) for a, b in pairs]
    with torch.no_grad():
        model(x)
        for h in hooks:
            h.remove()
        mod_diff = max((b - a).abs().max().item() for b, a in seen)
        mod_max = max(a.abs().max().item() for _, a in seen)
        d64 = (copy.deepcopy(tweaked).double()(x.double()) - copy.deepcopy(model).double()(x.double()))
    return d64.abs().max().item(), mod_diff, mod_max


class LogitsOnly(nn.Module):
    """forward(x) -> model(x). torch 1.13's exporter turns the forward's default arguments into traced
    tensors (return_stages=False became tensor(False), with a TracerWarning); this wrapper exposes the image
    input only. It calls the model unchanged."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)


def export(model, x, path, opset):
    with torch.no_grad():
        torch.onnx.export(
            LogitsOnly(model).eval(), (x,), path,
            export_params=True,
            opset_version=opset,
            do_constant_folding=True,
            input_names=["pixel_values"],
            output_names=["logits"],
            dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
            training=torch.onnx.TrainingMode.EVAL,
        )


def optional_onnx_checks(path, x, want):
    """onnx.checker and ONNX Runtime's logits, when those packages are there (they are not needed)."""
    try:
        import onnx
        onnx.checker.check_model(onnx.load(path))
        print("  onnx.checker: ok")
    except ImportError:
        print("  (no onnx package: onnx.checker skipped)")
    try:
        import onnxruntime as ort
    except ImportError:
        print("  (no onnxruntime package: check ORT's output with bench/ort's --check)")
        return None
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {"pixel_values": x})[0]
    diff = float(np.max(np.abs(got - want)))
    print("  onnxruntime %s: max abs diff to the reference %.3g" % (ort.__version__, diff))
    return diff


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", required=True, choices=list(rest_official.VARIANTS))
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--size", type=int, default=224, help="input height = width (fixed in the graph; default 224)")
    ap.add_argument("--seed", type=int, default=0, help="seeds the random weights and the check input")
    ap.add_argument("--weights", help="a state_dict / checkpoint .pth to load instead of random weights")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--plain-instancenorm", action="store_true",
                    help="export nn.InstanceNorm2d as ONNX InstanceNormalization (no CenteredInstanceNorm; ORT's "
                         "kernel then misses rest_* logits by ~0.06, see above)")
    args = ap.parse_args()
    if args.size % 32 != 0:
        ap.error("--size must be a multiple of 32 (the network downsamples by 32, and ResTv2's stage-1 grid, "
                 "size/4, must divide by its reduction ratio 8)")

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, args.variant)
    onnx_path = stem + ".onnx"

    model = build_model(args.variant, args.seed, args.weights)
    x = check_input(args.variant, args.size, args.seed)
    with torch.no_grad():
        logits32 = model(x).float()
        logits64 = copy.deepcopy(model).double()(x.double())

    tweaked, n_replaced = (model, 0) if args.plain_instancenorm else export_friendly(model)
    if n_replaced:
        d64, dmod, mmax = check_tweak(model, tweaked, x)
        print("%s: %d InstanceNorm2d exported as CenteredInstanceNorm; tweaked vs unmodified: logits (float64) "
              "max abs diff %.2g, module outputs (float32) %.2g (|output| <= %.2g)" % (
                  args.variant, n_replaced, d64, dmod, mmax))
        if not (d64 <= 1e-6 and dmod <= 1e-6 * max(1.0, mmax)):
            sys.exit("the export-friendly InstanceNorm changes the numerics")

    export(tweaked, x, onnx_path, args.opset)
    with torch.no_grad():
        again = model(x).float()
    if not torch.equal(again, logits32):
        sys.exit("the model's output changed during the export (max abs diff %.3g)"
                 % (again - logits32).abs().max().item())

    xin = x.numpy().astype("<f4")
    want = logits64.float().numpy().astype("<f4")
    np.save(stem + ".input.npy", xin)
    np.save(stem + ".logits.npy", want)
    np.save(stem + ".logits_fp32.npy", logits32.numpy().astype("<f4"))
    n_params = sum(p.numel() for p in model.parameters())
    print("%s: %s (%.1f MB, %.2fM parameters, opset %d, input pixel_values [batch,%d,%d,%d], output logits "
          "[batch,%d])" % (args.variant, onnx_path, os.path.getsize(onnx_path) / 1e6, n_params / 1e6, args.opset,
                           x.shape[1], args.size, args.size, want.shape[1]))
    print("  check data: %s.{input,logits,logits_fp32}.npy, batch %d (torch %s, %s weights, seed %d); "
          "PyTorch float32 vs the float64 reference: max abs diff %.2g (|logits| <= %.2g)"
          % (stem, CHECK_BATCH, torch.__version__, args.weights or "random", args.seed,
             float(np.max(np.abs(logits32.numpy() - want))), float(np.max(np.abs(want)))))
    diff = optional_onnx_checks(onnx_path, xin, want)
    if diff is not None and not diff <= 1e-4:
        sys.exit("ONNX Runtime's logits differ from the reference by %.3g (> 1e-4)" % diff)


if __name__ == "__main__":
    main()
