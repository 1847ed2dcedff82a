"""Checks rest_official.py against the reference fixtures (outputs of the official code).

For every /work/shared/fixtures/parity/<case>/: builds the model from config.json, loads weights.pth
(unwrapping {'model': ...} / {'state_dict': ...} and a 'module.' prefix), checks that the state_dict
keys and shapes equal the checkpoint's (and the variant's manifest) exactly, runs every input_K.npy in
float64 and compares the logits and the four stage outputs. Also checks that a randomly initialised
model of each released variant has exactly the manifest's keys, shapes and trainable parameter count.
Exit status 1 if anything is off.

    /usr/bin/python3 bench/pytorch/verify.py [--fixtures /work/shared/fixtures] [--tol 1e-5]
"""
import argparse
import glob
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rest_official  # noqa: E402


def unwrap(ckpt):
    if isinstance(ckpt, dict):
        for k in ("model", "state_dict"):
            if k in ckpt and isinstance(ckpt[k], dict):
                ckpt = ckpt[k]
                break
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in ckpt.items()}


def read_safetensors(path):
    """Minimal safetensors reader (the format: u64 header length, JSON header, raw little-endian data)."""
    dtypes = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, meta in header.items():
        if k == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out


def load_idx_images(path):
    import gzip
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n, h, w = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w)


def fashion_preprocess(u8):
    """The fixture's preprocessing: x/255 -> (x-0.2860)/0.3530 on the raw 28x28, zero-pad 2 (raw pixel 0)
    -> 32x32 -> nearest 2x -> 64x64, NCHW [B,1,64,64]."""
    x = np.pad(u8, ((0, 0), (2, 2), (2, 2))).astype(np.float32) / 255.0
    x = (x - 0.2860) / 0.3530
    x = x.repeat(2, axis=1).repeat(2, axis=2)
    return x[:, None, :, :]


def check_keys(model_sd, ref, what):
    """ref: ordered list of (key, shape). Returns a list of problems."""
    problems = []
    got = [(k, tuple(v.shape)) for k, v in model_sd.items()]
    want = [(k, tuple(s)) for k, s in ref]
    if [k for k, _ in got] != [k for k, _ in want]:
        gk, wk = {k for k, _ in got}, {k for k, _ in want}
        problems.append("%s: key list differs (missing %s, extra %s%s)" % (
            what, sorted(wk - gk)[:5], sorted(gk - wk)[:5], ", order differs" if gk == wk else ""))
    for (k, s), (k2, s2) in zip(got, want):
        if k == k2 and s != s2:
            problems.append("%s: %s shape %s, expected %s" % (what, k, s, s2))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.environ.get("REST_FIXTURES", "/work/shared/fixtures"))
    ap.add_argument("--tol", type=float, default=1e-5, help="max abs error allowed (float64 run)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    failures = []

    # 1. every released variant: keys, shapes, parameter count
    print("## state_dict layout of the released variants (random init vs manifests/)\n")
    print("| variant | keys | params | manifest params | layout |")
    print("|---|---:|---:|---:|---|")
    for path in sorted(glob.glob(os.path.join(args.fixtures, "manifests", "*.json"))):
        man = json.load(open(path))
        name = os.path.splitext(os.path.basename(path))[0]
        model = rest_official.build_from_config(man["config"])
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        probs = check_keys(model.state_dict(), [(k, s) for k, s, _ in man["state_dict"]], name)
        if n_params != man["num_parameters"]:
            probs.append("%s: %d parameters, manifest says %d" % (name, n_params, man["num_parameters"]))
        failures += probs
        print("| %s | %d | %s | %s | %s |" % (name, len(model.state_dict()), format(n_params, ","),
                                            format(man["num_parameters"], ","), "ok" if not probs else "MISMATCH"))
        del model
    print()

    # 2. parity cases
    print("## parity vs the official code's float64 references (max abs error, float64 run)\n")
    print("| case | ckpt dtype | input | logits | stage1 | stage2 | stage3 | stage4 | max rel logits | ema logits "
          "| fp32 logits | official fp32 | ok |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    grad_rows = []
    for case_dir in sorted(glob.glob(os.path.join(args.fixtures, "parity", "*"))):
        case = os.path.basename(case_dir)
        cfg = json.load(open(os.path.join(case_dir, "config.json")))
        raw = torch.load(os.path.join(case_dir, "weights.pth"), map_location="cpu")
        sd = unwrap(raw)
        model = rest_official.build_from_config(cfg)
        probs = check_keys(model.state_dict(), [(k, v.shape) for k, v in sd.items()], case)
        man_path = os.path.join(args.fixtures, "manifests", cfg["variant"] + ".json")
        if os.path.exists(man_path) and cfg.get("width_divisor", 1) == 1 and cfg.get("num_classes") == 1000:
            man = json.load(open(man_path))
            probs += check_keys(model.state_dict(), [(k, s) for k, s, _ in man["state_dict"]], case + " vs manifest")
        if probs:
            failures += probs
            print("| %s | | | key/shape mismatch: %s |" % (case, probs[0]))
            continue
        dtypes = sorted({str(v.dtype).replace("torch.", "") for v in sd.values() if v.is_floating_point()})
        model.load_state_dict(sd, strict=True)
        model32 = rest_official.build_from_config(cfg)
        model32.load_state_dict(sd, strict=True)
        model32 = model32.float().eval()
        model = model.double().eval()
        official_fp32 = {str(i["k"]): i.get("official_fp32_max_abs_error_logits") for i in cfg.get("inputs", [])}
        ema = None
        if isinstance(raw, dict) and isinstance(raw.get("model_ema"), dict):
            ema = rest_official.build_from_config(cfg)
            ema.load_state_dict(unwrap(raw["model_ema"]), strict=True)
            ema = ema.double().eval()
        for inp in sorted(glob.glob(os.path.join(case_dir, "input_*.npy"))):
            k = os.path.basename(inp)[len("input_"):-len(".npy")]
            x = torch.from_numpy(np.load(inp).astype(np.float64))
            with torch.no_grad():
                logits, stages = model(x, return_stages=True)
            ref = np.load(os.path.join(case_dir, "logits_%s.npy" % k)).astype(np.float64)
            errs = [np.abs(logits.numpy() - ref).max()]
            rel = (np.abs(logits.numpy() - ref) / np.maximum(np.abs(ref), 1e-3)).max()
            for n in range(1, 5):
                sref = np.load(os.path.join(case_dir, "stage%d_%s.npy" % (n, k))).astype(np.float64)
                got = stages[n - 1].numpy()
                if got.shape != sref.shape:
                    errs.append(float("inf"))
                    failures.append("%s input %s stage%d shape %s, expected %s" % (case, k, n, got.shape, sref.shape))
                else:
                    errs.append(np.abs(got - sref).max())
            ema_err = ""
            ema_ref = os.path.join(case_dir, "logits_ema_%s.npy" % k)
            if ema is not None and os.path.exists(ema_ref):
                with torch.no_grad():
                    e = np.abs(ema(x).numpy() - np.load(ema_ref).astype(np.float64)).max()
                errs_ema = e
                ema_err = "%.2e" % e
            else:
                errs_ema = 0.0
            with torch.no_grad():
                e32 = np.abs(model32(x.float()).double().numpy() - ref).max()
            off32 = official_fp32.get(k)
            ok = max(errs + [errs_ema]) <= args.tol
            if not ok:
                failures.append("%s input %s: max error %.3e > %.1e" % (case, k, max(errs + [errs_ema]), args.tol))
            print("| %s | %s | %s | %s | %.2e | %s | %.2e | %s | %s |" % (
                case, "/".join(dtypes), "x".join(map(str, x.shape)), " | ".join("%.2e" % e for e in errs),
                rel, ema_err, e32, "%.2e" % off32 if off32 is not None else "", "ok" if ok else "FAIL"))
        gcfg = cfg.get("gradients")
        if gcfg:
            # gradient of the mean (unsmoothed) cross-entropy of logits_0 w.r.t. every parameter, float64
            ref_g = read_safetensors(os.path.join(case_dir, gcfg["file"]))
            x = torch.from_numpy(np.load(os.path.join(case_dir, gcfg["input"])).astype(np.float64))
            y = torch.from_numpy(np.load(os.path.join(case_dir, gcfg["labels"])).astype(np.int64))
            model.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            gerr, grel, missing, worst = 0.0, 0.0, [], ""
            for name, p in model.named_parameters():
                if name not in ref_g:
                    missing.append(name)
                    continue
                g = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
                r = ref_g[name].astype(np.float64)
                d = np.abs(g - r).max()
                gerr = max(gerr, d)
                if d / max(np.abs(r).max(), 1e-12) > grel:
                    grel, worst = d / max(np.abs(r).max(), 1e-12), "%s (max abs grad %.1e)" % (name, np.abs(r).max())
            lerr = abs(loss.item() - gcfg["loss_value"])
            gok = not missing and gerr <= args.tol and lerr <= args.tol
            if not gok:
                failures.append("%s gradients: max abs %.3e, loss err %.3e, missing %s" % (case, gerr, lerr, missing[:3]))
            grad_rows.append((case, len(ref_g), lerr, gerr, grel, worst, gok))
    if grad_rows:
        print("\n## gradients (mean cross-entropy of logits_0, float64) vs grads_0.safetensors\n")
        print("| case | tensors | loss abs err | max abs grad err | worst err / max abs grad (tensor) | ok |")
        print("|---|---:|---:|---:|---|---|")
        for case, n, lerr, gerr, grel, worst, gok in grad_rows:
            print("| %s | %d | %.2e | %.2e | %.2e %s | %s |" % (case, n, lerr, gerr, grel, worst, "ok" if gok else "FAIL"))

    # 3. the trained Fashion-MNIST model (the training benchmark's architecture, 1 input channel)
    fdir = os.path.join(args.fixtures, "fashion-restv2-micro")
    fdata = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    if os.path.isdir(fdir) and os.path.exists(fdata):
        cfg = json.load(open(os.path.join(fdir, "config.json")))
        model = rest_official.build_from_config(cfg)
        model.load_state_dict(unwrap(torch.load(os.path.join(fdir, "weights.pth"), map_location="cpu")), strict=True)
        model.eval()
        x = torch.from_numpy(fashion_preprocess(load_idx_images(fdata)))
        preds, logits512 = [], None
        with torch.no_grad():
            for i in range(0, x.shape[0], 512):
                out = model(x[i:i + 512])
                if i == 0:
                    logits512 = out[:512].numpy()
                preds.append(out.argmax(1).numpy())
        preds = np.concatenate(preds)
        ref_pred = np.load(os.path.join(fdir, "test_predictions.npy"))
        ref_log = np.load(os.path.join(fdir, "test_logits_first512.npy"))
        diff = int((preds != ref_pred).sum())
        lerr = np.abs(logits512 - ref_log).max()
        print("\n## fashion-restv2-micro (float32, 10,000 test images)\n")
        print("| predictions differing from the official | max abs err, logits of the first 512 | ok |")
        print("|---:|---:|---|")
        fok = diff == 0 and lerr <= 1e-4
        print("| %d | %.2e | %s |" % (diff, lerr, "ok" if fok else "FAIL"))
        if not fok:
            failures.append("fashion-restv2-micro: %d predictions differ, logits err %.3e" % (diff, lerr))
    print()
    if failures:
        print("FAILED:")
        for f in failures:
            print("  " + f)
        return 1
    print("all variants and parity cases match (tolerance %.0e)" % args.tol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
