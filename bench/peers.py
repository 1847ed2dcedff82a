"""rest-tf against its peers on this machine, in one run, alternated: for each round, variant and batch size,
rest-tf (`bin/rest-tf bench`), ONNX Runtime for Java (the official model exported with torch.onnx.export, run by
bench/ort's harness on ORT 1.20, all graph optimisations) and PyTorch (the official code, OpenMP OpenBLAS, the
machine's OPENBLAS_CORETYPE override lifted for the PyTorch process only), each in a fresh process, in an order
that rotates from pair to pair so no runtime always goes first. Prints images/s, latency p50 / p99, the ratios
rest-tf / ORT and rest-tf / PyTorch, and the cores other processes used during each run (foreign).

    ci/bench-peers [--rounds 2] [--variants all|rest_lite,...] [--batches 1,16] [--iters 1:20,16:5]
                   [--precision fp32|bf16] [--resttf-threads 1:1] [--wait-idle 0.15] [--json out.json]

--resttf-threads B:N,...: rest-tf's `bench --threads N` at batch B (others: TF's default pools). One intra-op
thread at batch 1 lets rest-tf run its blocks on two bands of rows, one per core (README, "Why batch 1 uses one
core"); ORT and PyTorch keep --threads (both cores inside each op), so each runtime uses the machine's two cores.

Run it through ci/bench-peers, which installs torch (Debian's python3-torch) and OpenBLAS, builds the ORT harness
and exports the ONNX models into bench/onnx/models/ (git-ignored) when they are missing.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "pytorch"))
import compare  # noqa: E402  (PyTorch and rest-tf runners, load and foreign-CPU accounting)

ORT_JAR = os.path.join(HERE, "ort", "target", "rest-tf-bench-ort.jar")
ONNX_DIR = os.path.join(HERE, "onnx", "models")


def onnx_model(variant, size):
    path = os.path.join(ONNX_DIR, "%s-%d.onnx" % (variant, size))
    if not os.path.exists(path):
        out = os.path.join(ONNX_DIR, "tmp-%s" % variant)
        subprocess.run([sys.executable, os.path.join(HERE, "onnx", "export_onnx.py"), "--variant", variant,
                        "--size", str(size), "--out", out], check=True, stdout=subprocess.DEVNULL)
        os.replace(os.path.join(out, variant + ".onnx"), path)
        for f in os.listdir(out):
            os.replace(os.path.join(out, f), os.path.join(ONNX_DIR, f.replace(variant, "%s-%d" % (variant, size), 1)))
        os.rmdir(out)
        # ORT must compute the official model's answer before it is timed: its logits against the float64
        # reference the export wrote (bench/ort/README.md, "Correctness check")
        subprocess.run(["java", "-jar", ORT_JAR, "--model", path, "--check", "--iters", "0"], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def run_ort(variant, batch, size, iters, warmup, threads):
    cmd = ["java", "-jar", ORT_JAR, "--model", onnx_model(variant, size), "--batch", str(batch), "--size", str(size),
           "--iters", str(iters), "--warmup", str(warmup), "--threads", str(threads)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("ORT bench failed (%d): %s" % (p.returncode, (p.stderr or p.stdout)[-2000:]))
    line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
    r = json.loads(line)
    lat = r["latency_ms"]
    return dict(images_per_s=r["images_per_s"], median_ms=lat["p50"], p90_ms=lat["p90"], p99_ms=lat["p99"],
                min_ms=lat["min"], runtime=r.get("runtime"))


def run_resttf(variant, batch, size, iters, warmup, precision, threads=None):
    extra = ["--precision", precision] + (["--threads", str(threads)] if threads else [])
    r = compare.run_resttf(variant, batch, size, iters, warmup, extra=extra)
    r.pop("output", None)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    compare.add_run_args(ap)
    ap.add_argument("--precision", default="fp32", help="rest-tf's --precision (the peers run fp32)")
    ap.add_argument("--resttf-threads", default="", help="B:N,... rest-tf's intra-op threads per batch size")
    ap.add_argument("--peers", default="resttf,ort,pytorch")
    ap.add_argument("--wait-idle", type=float, default=0.0)
    ap.add_argument("--wait-timeout", type=float, default=900.0)
    ap.add_argument("--json")
    args = ap.parse_args()

    import rest_official
    variants = list(rest_official.VARIANTS) if args.variants == "all" else [v for v in args.variants.split(",") if v]
    batches = [int(b) for b in args.batches.split(",") if b]
    iters = {int(b): int(n) for b, n in (p.split(":") for p in args.iters.split(",") if p)}
    peers = [p for p in args.peers.split(",") if p]
    resttf_threads = {int(b): int(n) for b, n in (p.split(":") for p in args.resttf_threads.split(",") if p)}
    os.makedirs(ONNX_DIR, exist_ok=True)
    for v in variants:  # exports first, so no export runs between measurements
        if "ort" in peers:
            onnx_model(v, args.size)

    runners = dict(
        resttf=lambda v, b, n: run_resttf(v, b, args.size, n, args.warmup, args.precision, resttf_threads.get(b)),
        ort=lambda v, b, n: run_ort(v, b, args.size, n, args.warmup, args.threads),
        pytorch=lambda v, b, n: compare.run_pytorch(v, b, args.size, n, args.warmup, args.threads))
    out = dict(started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), args=vars(args), cpu=compare_cpu(), rows=[])
    k = 0
    for rnd in range(1, args.rounds + 1):
        for v in variants:
            for b in batches:
                n = iters.get(b, 10)
                if args.wait_idle > 0:
                    compare.wait_idle(args.wait_idle, args.wait_timeout)
                order = peers[k % len(peers):] + peers[:k % len(peers)]
                k += 1
                row = dict(round=rnd, variant=v, batch=b, iters=n, order=order)
                for p in order:
                    load = compare.loadavg()
                    with compare.ForeignCpu() as fc:
                        row[p] = runners[p](v, b, n)
                    row[p]["load"] = load
                    row[p]["foreign_cores"] = round(fc.cores, 2)
                out["rows"].append(row)
                print("round %d %-12s b%-2d " % (rnd, v, b) + " | ".join(
                    "%s %.2f img/s (p50 %.1f, p99 %.1f ms, foreign %.2f)" % (
                        p, row[p]["images_per_s"], row[p]["median_ms"], row[p]["p99_ms"] or float("nan"),
                        row[p]["foreign_cores"]) for p in peers), flush=True)

    print()
    print("| round | variant | batch | " + " | ".join("%s img/s | %s p50 / p99 ms" % (p, p) for p in peers)
          + "".join(" | rest-tf ÷ %s" % p for p in peers if p != "resttf") + " | max foreign |")
    print("|---:|---|---:|" + "---:|---:|" * len(peers) + "---:|" * (len(peers) - 1) + "---:|")
    for r in out["rows"]:
        cells = []
        for p in peers:
            cells += ["%.2f" % r[p]["images_per_s"], "%.1f / %.1f" % (r[p]["median_ms"], r[p]["p99_ms"] or float("nan"))]
        ratios = ["%.2fx" % (r["resttf"]["images_per_s"] / r[p]["images_per_s"]) for p in peers
                  if p != "resttf" and "resttf" in r]
        print("| %d | %s | %d | %s | %s%.2f |" % (r["round"], r["variant"], r["batch"], " | ".join(cells),
                                                   "".join(x + " | " for x in ratios),
                                                   max(r[p]["foreign_cores"] for p in peers)))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
        print("\nwrote %s" % args.json)


def compare_cpu():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "")
        return dict(avx512f="avx512f" in flags, avx512_bf16="avx512_bf16" in flags, cores=os.cpu_count())
    except OSError:
        return {}


if __name__ == "__main__":
    main()
