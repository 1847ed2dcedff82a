"""PyTorch baseline benchmark: the official ResT / ResTv2 code (rest_official.py) on CPU.

(a) inference, the same protocol as `rest-tf bench`: random weights (the official init), a random
    standard-normal input batch, model.eval() + torch.no_grad(), float32, W warm-up runs, then N timed
    runs of the whole network; images/s = batch * N / (sum of the timed runs), per-batch latency median
    and p90 (nearest rank), min, mean.
(b) one training step of the Fashion-MNIST recipe (fixtures/fashion-restv2-micro/config.json): ResTv2
    32/64/128/256, depths 1/1/2/1, 1 input channel, 10 classes, drop_path 0.05, model.train(), batch 128
    of 64x64, cross-entropy with label smoothing 0.1, clip_grad_norm 1.0, AdamW(lr 2e-3, wd 0.05) on every
    parameter, OneCycleLR stepped per batch, horizontal flip of the batch with p 0.5 (as the recipe).
    Reports the median (and p90) seconds per step after warm-up, and how the step splits into
    forward+loss / backward / clip+optimizer+scheduler.

The load average is recorded before and after every measurement (other jobs may share the CPU).

    /usr/bin/python3 bench/pytorch/bench.py [--variants rest_lite,restv2_tiny|all] [--batches 1,16]
        [--iters 1:20,16:5] [--warmup 3] [--threads 2] [--no-train] [--no-infer] [--json out.json]
"""
import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rest_official  # noqa: E402

FASHION_CONFIG = "/work/shared/fixtures/fashion-restv2-micro/config.json"
FASHION_FALLBACK = dict(family="v2", embed_dims=[32, 64, 128, 256], depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 8],
                        sr_ratios=[8, 4, 2, 1], num_classes=10, in_chans=1, layer_norm_eps=1e-6,
                        mlp_ratios=[4, 4, 4, 4])


def percentile(sorted_vals, p):
    """Nearest-rank percentile, as rest-tf bench computes it."""
    import math
    rank = int(math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[max(0, min(len(sorted_vals) - 1, rank - 1))]


def loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


class ForeignCpu:
    """CPU used by other processes while the block runs, in cores (busy time in /proc/stat minus this
    process's own CPU time, over the wall time): 0 = the machine was ours."""

    def __enter__(self):
        self.t, self.busy, self.own = time.time(), self._busy(), self._own()
        return self

    def __exit__(self, *exc):
        wall = time.time() - self.t
        busy = (self._busy() - self.busy) / os.sysconf("SC_CLK_TCK")
        self.cores = round(max(0.0, (busy - (self._own() - self.own)) / max(wall, 1e-6)), 2)
        return False

    @staticmethod
    def _busy():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            return sum(v) - v[3] - (v[4] if len(v) > 4 else 0)
        except OSError:
            return 0

    @staticmethod
    def _own():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime


def blas_library():
    """The BLAS shared object actually mapped into this process (torch's Linear / matmul use it)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "blis" in line.lower()}
        return sorted(os.path.realpath(p) for p in libs if p.startswith("/"))
    except OSError:
        return []


def openblas_kernel():
    """The OpenBLAS core (kernel set) the loaded OpenBLAS runs, e.g. 'Haswell' (AVX2) or 'SkylakeX'/'Cooperlake'
    (AVX-512): OPENBLAS_CORETYPE forces one; unset, OpenBLAS picks the CPU's best. None without OpenBLAS."""
    import ctypes
    for path in blas_library():
        if "openblas" not in path:
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return "%s (%s)" % (lib.openblas_get_corename().decode(), lib.openblas_get_config().decode().strip())
        except (OSError, AttributeError):
            continue
    return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def macs_hint(model, x):
    """Multiply-accumulates of the convs, linears and attention matmuls of one forward (counted with hooks
    and a patched matmul), per image."""
    total = [0]
    hooks = []

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += out.numel() * k

    def lin_hook(m, inp, out):
        total[0] += out.numel() * m.in_features

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    orig = torch.Tensor.__matmul__

    def mm(a, b):
        out = orig(a, b)
        total[0] += out.numel() * a.shape[-1]
        return out

    torch.Tensor.__matmul__ = mm
    try:
        with torch.no_grad():
            model(x)
    finally:
        torch.Tensor.__matmul__ = orig
        for h in hooks:
            h.remove()
    return total[0] / x.shape[0]


def bench_inference(variant, batch, size, iters, warmup, seed):
    torch.manual_seed(seed)
    model = rest_official.build(variant).float().eval()
    in_chans = rest_official.VARIANTS[variant].get("in_chans", 3)
    x = torch.randn(batch, in_chans, size, size, dtype=torch.float32)
    macs = macs_hint(model, x[:1])
    load_before = loadavg()
    ms = []
    with torch.no_grad(), ForeignCpu() as fc:
        for _ in range(warmup):
            model(x)
        for _ in range(iters):
            t = time.perf_counter()
            model(x)
            ms.append((time.perf_counter() - t) * 1e3)
    load_after = loadavg()
    s = sorted(ms)
    ips = batch * len(ms) / (sum(ms) / 1e3)
    return dict(kind="inference", variant=variant, batch=batch, size=size, warmup=warmup, iters=iters,
                latency_ms=dict(median=percentile(s, 50), p90=percentile(s, 90), p99=percentile(s, 99), min=s[0],
                                mean=sum(ms) / len(ms)),
                images_per_s=ips, gmacs_per_image=macs / 1e9, gflops=2 * macs * ips / 1e9, runs_ms=ms,
                loadavg_before=load_before, loadavg_after=load_after, foreign_cores=fc.cores)


def bench_train(steps, warmup, batch, size, seed, cfg_path):
    cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else dict(FASHION_FALLBACK)
    recipe = cfg.get("training_recipe", {})
    torch.manual_seed(seed)
    model = rest_official.build_from_config(cfg, drop_path_rate=recipe.get("drop_path_rate", 0.05))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    total_steps = warmup + steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=max(total_steps, 4 * 468), pct_start=0.1,
                                                anneal_strategy="cos", div_factor=25, final_div_factor=1e4)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    g = torch.Generator().manual_seed(seed)
    # a few distinct random batches (the values do not change the cost)
    data = [(torch.randn(batch, cfg.get("in_chans", 1), size, size, generator=g),
             torch.randint(0, cfg.get("num_classes", 10), (batch,), generator=g)) for _ in range(4)]
    flip_rng = torch.Generator().manual_seed(seed + 1)

    def step(i):
        x, y = data[i % len(data)]
        t0 = time.perf_counter()
        if torch.rand(1, generator=flip_rng).item() < 0.5:
            x = torch.flip(x, dims=[3])
        out = model(x)
        loss = crit(out, y)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        t3 = time.perf_counter()
        return t3 - t0, t1 - t0, t2 - t1, t3 - t2, loss.item()

    load_before = loadavg()
    with ForeignCpu() as fc:
        for i in range(warmup):
            step(i)
        rows = [step(warmup + i) for i in range(steps)]
    load_after = loadavg()
    tot = sorted(r[0] for r in rows)
    med = lambda j: statistics.median(r[j] for r in rows)  # noqa: E731
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return dict(kind="train_step", config=os.path.basename(os.path.dirname(cfg_path)) if os.path.exists(cfg_path)
                else "fashion-restv2-micro (built-in copy)", batch=batch, size=size, warmup=warmup, steps=steps,
                num_parameters=n_params,
                seconds_per_step=dict(median=percentile(tot, 50), p90=percentile(tot, 90), min=tot[0],
                                      mean=sum(tot) / len(tot)),
                split_median_s=dict(forward_loss=med(1), backward=med(2), clip_optimizer=med(3)),
                images_per_s=batch / percentile(tot, 50), last_loss=rows[-1][4], steps_s=[r[0] for r in rows],
                loadavg_before=load_before, loadavg_after=load_after, foreign_cores=fc.cores)


def parse_iters(spec):
    out = {}
    for part in spec.split(","):
        if part.strip():
            b, n = part.split(":")
            out[int(b)] = int(n)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default="rest_lite,restv2_tiny", help="comma list, or 'all'")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--iters", default="1:20,16:5", help="timed runs per batch size, BATCH:N,... (default 20 / 5)")
    ap.add_argument("--default-iters", type=int, default=10, help="timed runs for batch sizes not in --iters")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first (rest-tf bench's default: 3)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-infer", action="store_true")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--train-warmup", type=int, default=3)
    ap.add_argument("--train-batch", type=int, default=128)
    ap.add_argument("--train-size", type=int, default=64)
    ap.add_argument("--train-config", default=FASHION_CONFIG)
    ap.add_argument("--json", help="also write the results as JSON here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    variants = list(rest_official.VARIANTS) if args.variants == "all" else \
        [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in rest_official.VARIANTS:
            ap.error("unknown variant %r (known: %s)" % (v, ", ".join(rest_official.VARIANTS)))
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    iters = parse_iters(args.iters)

    env = dict(torch=torch.__version__, python=platform.python_version(), executable=sys.executable,
               cpu=cpu_model(), cpus=os.cpu_count(), torch_threads=torch.get_num_threads(),
               torch_interop_threads=torch.get_num_interop_threads(), mkldnn=torch.backends.mkldnn.is_available(),
               blas=blas_library(), openblas_kernel=openblas_kernel(), omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
               openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
               started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), loadavg_start=loadavg())
    print("# PyTorch baseline: torch %s (python %s), %d threads, %s, BLAS %s, OpenBLAS kernel %s (OPENBLAS_CORETYPE=%s)" % (
        env["torch"], env["python"], env["torch_threads"], env["cpu"], ", ".join(env["blas"]) or "?",
        env["openblas_kernel"], env["openblas_coretype"]), flush=True)

    results = []
    if not args.no_infer:
        for v in variants:
            for b in batches:
                n = iters.get(b, args.default_iters)
                r = bench_inference(v, b, args.size, n, args.warmup, args.seed)
                results.append(r)
                print("  %s b%d: %.2f images/s, median %.1f ms, p90 %.1f ms (load %s -> %s, foreign %.2f cores)" % (
                    v, b, r["images_per_s"], r["latency_ms"]["median"], r["latency_ms"]["p90"],
                    r["loadavg_before"], r["loadavg_after"], r["foreign_cores"]), flush=True)
    if not args.no_train:
        r = bench_train(args.train_steps, args.train_warmup, args.train_batch, args.train_size, args.seed,
                        args.train_config)
        results.append(r)
        print("  train step: median %.3f s (load %s -> %s, foreign %.2f cores)" % (
            r["seconds_per_step"]["median"], r["loadavg_before"], r["loadavg_after"], r["foreign_cores"]), flush=True)

    env["loadavg_end"] = loadavg()
    env["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    print()
    inf = [r for r in results if r["kind"] == "inference"]
    if inf:
        print("| variant | batch | size | images/s | median ms | p90 ms | min ms | GMACs/img | GFLOP/s | runs | load avg (1/5/15 min) before -> after | foreign cores |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
        for r in inf:
            print("| %s | %d | %d | %.2f | %.1f | %.1f | %.1f | %.2f | %.1f | %d+%d | %s -> %s | %.2f |" % (
                r["variant"], r["batch"], r["size"], r["images_per_s"], r["latency_ms"]["median"],
                r["latency_ms"]["p90"], r["latency_ms"]["min"], r["gmacs_per_image"], r["gflops"], r["warmup"],
                r["iters"], "/".join(map(str, r["loadavg_before"] or [])),
                "/".join(map(str, r["loadavg_after"] or [])), r["foreign_cores"]))
        print()
    for r in results:
        if r["kind"] == "train_step":
            sp, sm = r["seconds_per_step"], r["split_median_s"]
            print("| training step (%s, batch %d, %dx%d) | median s | p90 s | min s | images/s | fwd+loss s | backward s | clip+AdamW s | load before -> after | foreign cores |" % (
                r["config"], r["batch"], r["size"], r["size"]))
            print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
            print("| %d warm-up + %d timed steps | %.3f | %.3f | %.3f | %.1f | %.3f | %.3f | %.3f | %s -> %s | %.2f |" % (
                r["warmup"], r["steps"], sp["median"], sp["p90"], sp["min"], r["images_per_s"], sm["forward_loss"],
                sm["backward"], sm["clip_optimizer"], "/".join(map(str, r["loadavg_before"] or [])),
                "/".join(map(str, r["loadavg_after"] or [])), r["foreign_cores"]))
            print()

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(dict(environment=env, results=results), f, indent=1)
        print("wrote %s" % args.json)


if __name__ == "__main__":
    main()
