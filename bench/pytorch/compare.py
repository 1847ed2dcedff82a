"""PyTorch (official code, bench.py) vs rest-tf (`bin/rest-tf bench`) on the same machine, back to back.

For each round and each (variant, batch): optionally waits until the CPU is quiet (other jobs), runs the
PyTorch measurement in a fresh process, then right after it the same measurement with rest-tf (a fresh
JVM), recording the load average before each. Then the PyTorch training step (rest-tf has no training
benchmark verb to pair it with). Prints a markdown table per round and writes everything as JSON.

    /usr/bin/python3 bench/pytorch/compare.py [--rounds 2] [--variants rest_lite,restv2_tiny]
        [--batches 1,16] [--iters 1:20,16:5] [--wait-idle 0.25] [--json out.json]

Run it through ci/bench-pytorch, which installs torch and picks the BLAS (LD_LIBRARY_PATH).
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def loadavg():
    return [round(v, 2) for v in os.getloadavg()]


def _stat():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v), idle


def cpu_busy(seconds=3.0):
    """Fraction of all CPUs busy over the next `seconds` (from /proc/stat), whoever uses them."""
    t0, i0 = _stat()
    time.sleep(seconds)
    t1, i1 = _stat()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_idle(threshold, timeout, windows=5):
    """Waits until the CPUs were less than `threshold` busy in `windows` consecutive 3 s windows;
    returns (busy of the last window, waited seconds)."""
    start = time.time()
    quiet = 0
    busy = 1.0
    while time.time() - start < timeout:
        busy = cpu_busy()
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= windows:
            break
    return busy, time.time() - start


class ForeignCpu:
    """CPU time used by anything other than our child processes while the block runs, in cores
    (0 = the machine was ours; 1 = another job kept one core busy throughout)."""

    def __enter__(self):
        self.t, self.busy, self.ch = time.time(), self._busy(), self._children()
        return self

    def __exit__(self, *exc):
        hz = os.sysconf("SC_CLK_TCK")
        wall = time.time() - self.t
        busy = (self._busy() - self.busy) / hz
        self.cores = max(0.0, (busy - (self._children() - self.ch)) / max(wall, 1e-6))
        return False

    @staticmethod
    def _busy():
        tot, idle = _stat()
        return tot - idle

    @staticmethod
    def _children():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime


def run_pytorch(variant, batch, size, iters, warmup, threads):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [sys.executable, os.path.join(HERE, "bench.py"), "--variants", variant, "--batches", str(batch),
           "--size", str(size), "--iters", "%d:%d" % (batch, iters), "--warmup", str(warmup),
           "--threads", str(threads), "--no-train", "--json", path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=pytorch_env())
    with open(path) as f:
        data = json.load(f)
    os.unlink(path)
    r = data["results"][0]
    return dict(images_per_s=r["images_per_s"], median_ms=r["latency_ms"]["median"], p90_ms=r["latency_ms"]["p90"],
                p99_ms=r["latency_ms"].get("p99"), min_ms=r["latency_ms"]["min"], blas=data["environment"]["blas"],
                openblas_kernel=data["environment"].get("openblas_kernel"))


KEEP_OPENBLAS_OVERRIDE = os.environ.get("BENCH_KEEP_OPENBLAS_OVERRIDE") == "1"


def pytorch_env():
    """The PyTorch process's environment: this machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE override (it
    forces OpenBLAS's AVX2 'Haswell' kernels, ~40 % slower here) is lifted for it alone, so OpenBLAS picks the
    CPU's own kernels; everything else (tests, CI, rest-tf) keeps the machine's setting."""
    env = dict(os.environ)
    if not KEEP_OPENBLAS_OVERRIDE:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def run_resttf(variant, batch, size, iters, warmup, extra=()):
    cmd = [os.path.join(REPO, "bin", "rest-tf"), "bench", "--variant", variant, "--batch", str(batch), "--size", str(size),
           "--iters", str(iters), "--warmup", str(warmup)] + list(extra)
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("rest-tf bench failed (%d): %s" % (p.returncode, (p.stderr or p.stdout)[-2000:]))
    lat = re.search(r"median ([\d.]+) ms, p90 ([\d.]+) ms, p99 ([\d.]+) ms, min ([\d.]+) ms", p.stdout)
    ips = re.search(r"throughput:\s+([\d.]+) images/s", p.stdout)
    if not lat or not ips:
        raise RuntimeError("cannot parse rest-tf bench output:\n" + p.stdout)
    return dict(images_per_s=float(ips.group(1)), median_ms=float(lat.group(1)), p90_ms=float(lat.group(2)),
                p99_ms=float(lat.group(3)), min_ms=float(lat.group(4)), output=p.stdout)


def run_train(steps, warmup, threads):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [sys.executable, os.path.join(HERE, "bench.py"), "--no-infer", "--train-steps", str(steps),
           "--train-warmup", str(warmup), "--threads", str(threads), "--json", path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=pytorch_env())
    with open(path) as f:
        r = json.load(f)["results"][0]
    os.unlink(path)
    return r


def add_run_args(ap):
    """The options every side-by-side benchmark here takes (compare.py, ../peers.py)."""
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", default="rest_lite,restv2_tiny", help="comma list, or 'all'")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--iters", default="1:20,16:5")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of the peers (torch.set_num_threads, ORT intra-op); rest-tf: TF's default, 1/core")


def fmt_load(l):
    return "/".join("%.2f" % v for v in l)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_args(ap)
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--train-warmup", type=int, default=3)
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--no-java", action="store_true", help="PyTorch only")
    ap.add_argument("--wait-idle", type=float, default=0.0,
                    help="before each pair, wait until the CPUs are less than this fraction busy (0 = don't)")
    ap.add_argument("--wait-timeout", type=float, default=900.0)
    ap.add_argument("--json")
    args = ap.parse_args()

    iters = {int(b): int(n) for b, n in (p.split(":") for p in args.iters.split(",") if p)}
    sys.path.insert(0, HERE)
    import rest_official
    variants = list(rest_official.VARIANTS) if args.variants == "all" else [v for v in args.variants.split(",") if v]
    batches = [int(b) for b in args.batches.split(",") if b]
    out = dict(started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), args=vars(args), pairs=[], train=[])

    for rnd in range(1, args.rounds + 1):
        for v in variants:
            for b in batches:
                n = iters.get(b, 10)
                busy, waited = wait_idle(args.wait_idle, args.wait_timeout) if args.wait_idle > 0 else (None, 0)
                row = dict(round=rnd, variant=v, batch=b, iters=n, cpu_busy_before=busy, waited_s=round(waited))
                row["load_pytorch"] = loadavg()
                with ForeignCpu() as fc:
                    row["pytorch"] = run_pytorch(v, b, args.size, n, args.warmup, args.threads)
                row["pytorch"]["foreign_cores"] = round(fc.cores, 2)
                if not args.no_java:
                    row["load_resttf"] = loadavg()
                    with ForeignCpu() as fc:
                        row["resttf"] = run_resttf(v, b, args.size, n, args.warmup)
                    row["resttf"]["foreign_cores"] = round(fc.cores, 2)
                out["pairs"].append(row)
                pt, tf = row["pytorch"], row.get("resttf")
                print("round %d %s b%d: pytorch %.2f img/s (med %.1f ms, load %s, foreign %.2f) | rest-tf %s" % (
                    rnd, v, b, pt["images_per_s"], pt["median_ms"], fmt_load(row["load_pytorch"]), pt["foreign_cores"],
                    "%.2f img/s (med %.1f ms, load %s, foreign %.2f)" % (
                        tf["images_per_s"], tf["median_ms"], fmt_load(row["load_resttf"]), tf["foreign_cores"])
                    if tf else "-"), flush=True)
        if not args.no_train:
            busy, waited = wait_idle(args.wait_idle, args.wait_timeout) if args.wait_idle > 0 else (None, 0)
            with ForeignCpu() as fc:
                r = run_train(args.train_steps, args.train_warmup, args.threads)
            r["foreign_cores"] = round(fc.cores, 2)
            r["round"] = rnd
            r["cpu_busy_before"] = busy
            out["train"].append(r)
            print("round %d train step: median %.3f s, p90 %.3f s (load %s, foreign %.2f)" % (
                rnd, r["seconds_per_step"]["median"], r["seconds_per_step"]["p90"], fmt_load(r["loadavg_before"]),
                r["foreign_cores"]),
                flush=True)

    print()
    print("load = 1/5/15-min load average just before the run; foreign = cores used by other processes "
          "during the run (0 = machine was ours)\n")
    print("| round | variant | batch | PyTorch img/s | PyTorch median / p90 ms | load, foreign (PT) | rest-tf img/s | "
          "rest-tf median / p90 ms | load, foreign (TF) | rest-tf / PyTorch (img/s) |")
    print("|---:|---|---:|---:|---:|---|---:|---:|---|---:|")
    for r in out["pairs"]:
        pt, tf = r["pytorch"], r.get("resttf")
        print("| %d | %s | %d | %.2f | %.1f / %.1f | %s, %.2f | %s | %s | %s | %s |" % (
            r["round"], r["variant"], r["batch"], pt["images_per_s"], pt["median_ms"], pt["p90_ms"],
            fmt_load(r["load_pytorch"]), pt["foreign_cores"],
            "%.2f" % tf["images_per_s"] if tf else "-", "%.1f / %.1f" % (tf["median_ms"], tf["p90_ms"]) if tf else "-",
            "%s, %.2f" % (fmt_load(r["load_resttf"]), tf["foreign_cores"]) if tf else "-",
            "%.2fx" % (tf["images_per_s"] / pt["images_per_s"]) if tf else "-"))
    if out["train"]:
        print()
        print("| round | PyTorch training step (fashion-restv2-micro, b128 64x64) median s | p90 s | fwd+loss | backward "
              "| clip+AdamW | load, foreign |")
        print("|---:|---:|---:|---:|---:|---:|---|")
        for r in out["train"]:
            s = r["split_median_s"]
            print("| %d | %.3f | %.3f | %.3f | %.3f | %.3f | %s, %.2f |" % (
                r["round"], r["seconds_per_step"]["median"], r["seconds_per_step"]["p90"], s["forward_loss"],
                s["backward"], s["clip_optimizer"], fmt_load(r["loadavg_before"]), r["foreign_cores"]))
    if args.json:
        for r in out["pairs"]:
            if "resttf" in r:
                r["resttf"].pop("output", None)
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
        print("\nwrote %s" % args.json)


if __name__ == "__main__":
    main()
