"""spark-classify against one JVM's classify on the 10,000 Fashion-MNIST test images as PNG files, alternated.

For each round, in a rotating order, each set-up runs as a fresh process on the same folder:
  classify            bin/rest-tf classify --batch N FILE... (one JVM, no Spark: the reference)
  local[2]            spark-classify on an embedded Spark, the driver JVM is the executor (2 cores)
  1 executor          spark-classify --master local-cluster[1,2,MB]: one executor JVM with 2 cores
  2 executors         spark-classify --master local-cluster[2,1,MB]: two executor JVMs with 1 core each
and the wall time of the whole command (JVM start, Spark start, model loads, the job, the Parquet commit) is
recorded, with the job's own figure from spark-classify's summary line (the write: the job, reading back the
counts and the commit, after Spark's start and the input's listing and counting).
That the labels are the same is the tests' business (SparkCommandsTest, RestTfSparkTest, LocalClusterTest).

    ci/bench-spark [--rounds 2] [--batch 64] [--json bench/results/spark-fashion10k.json]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLI = os.path.join(REPO, "bin", "rest-tf")


def run(cmd):
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd[:6]), p.stderr[-3000:]))
    return wall, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--executor-mb", type=int, default=3072)
    ap.add_argument("--model", default=os.path.join(REPO, "savedmodels", "fashion_restv2_micro"))
    ap.add_argument("--images", default=os.path.join(REPO, "bench", "spark", "fashion-test"))
    ap.add_argument("--json")
    a = ap.parse_args()

    if not os.path.isdir(a.model):
        run([CLI, "demo"])  # exports the Fashion-MNIST model to savedmodels/fashion_restv2_micro
    if not os.path.isdir(a.images):
        run([CLI, "data", "fashion-mnist", "--out", a.images])
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(a.images) for f in fs if f.endswith(".png"))
    n = len(files)
    work = tempfile.mkdtemp(prefix="bench-spark-")
    setups = [
        ("classify (1 JVM, no Spark)", None),
        ("spark local[2]", "local[2]"),
        ("spark 1 executor x 2 cores", "local-cluster[1,2,%d]" % a.executor_mb),
        ("spark 2 executors x 1 core", "local-cluster[2,1,%d]" % a.executor_mb),
    ]
    results = {name: [] for name, _ in setups}
    try:
        for r in range(a.rounds):
            order = setups[r % len(setups):] + setups[:r % len(setups)]
            for name, master in order:
                if master is None:
                    wall, out, _ = run([CLI, "classify", "--model", a.model, "--batch", str(a.batch), "--top-k", "1"] + files)
                    labels = {}
                    for line in out.splitlines():
                        m = re.match(r"^(.+\.png):  (.+) ([0-9.]+)$", line)
                        if m:
                            labels[m.group(1)] = m.group(2)
                    if len(labels) != n:
                        sys.exit("classify printed %d results for %d images" % (len(labels), n))
                    job = None
                else:
                    dest = os.path.join(work, "out-%d-%s" % (r, master.replace("[", "_").replace("]", "").replace(",", "_")))
                    wall, out, _ = run([CLI, "spark-classify", "--model", a.model, "--input", a.images, "--output", dest,
                                        "--batch", str(a.batch), "--master", master, "--top", "1"])
                    m = re.search(r"classified ([0-9,]+) images \(([0-9,]+) with an error\) in ([0-9.]+) s", out)
                    if not m or int(m.group(1).replace(",", "")) != n or m.group(2) != "0":
                        sys.exit("unexpected summary: " + out)
                    job = float(m.group(3))
                    results[name].append({"wall_s": wall, "job_s": job})
                    shutil.rmtree(dest, ignore_errors=True)
                    print("round %d  %-28s wall %6.1f s  %6.1f images/s   job %6.1f s  %6.1f images/s" % (r + 1, name, wall, n / wall, job, n / job), flush=True)
                    continue
                results[name].append({"wall_s": wall, "job_s": job})
                print("round %d  %-28s wall %6.1f s  %6.1f images/s" % (r + 1, name, wall, n / wall), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print("| set-up | wall s | images/s (wall) | job s | images/s (job) |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in setups:
        w = [x["wall_s"] for x in results[name]]
        j = [x["job_s"] for x in results[name] if x["job_s"] is not None]
        rng = lambda v, f: ("%s–%s" % (f % min(v), f % max(v))) if len(v) > 1 and f % min(v) != f % max(v) else f % v[0]
        print("| %s | %s | %s | %s | %s |" % (name, rng(w, "%.1f"), rng([n / x for x in w], "%.0f"),
                                             rng(j, "%.1f") if j else "—", rng([n / x for x in j], "%.0f") if j else "—"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"images": n, "batch": a.batch, "cpus": os.cpu_count(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
