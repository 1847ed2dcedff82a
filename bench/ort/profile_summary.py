#!/usr/bin/env python3
"""Sums an ONNX Runtime profile (OrtBench --profile) per op type, as `rest-tf bench --profile` does for TF.

    python3 bench/ort/profile_summary.py PROFILE.json [--skip-runs 3]

ORT writes one "Node" event per kernel run (name NODE_kernel_time, args.op_name) and one "model_run" event per
session run. The first --skip-runs runs (the warm-up) are left out; times are per run, in ms.
"""
import argparse
import json
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--skip-runs", type=int, default=3)
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    with open(a.profile) as f:
        events = json.load(f)
    runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
    if len(runs) <= a.skip_runs:
        raise SystemExit(f"error: {a.profile}: {len(runs)} runs, not more than --skip-runs {a.skip_runs}")
    start = runs[a.skip_runs]["ts"]
    kept = runs[a.skip_runs:]
    n = len(kept)
    per_type = defaultdict(float)
    count = defaultdict(int)
    per_node = defaultdict(float)
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time") or e["ts"] < start:
            continue
        op = e.get("args", {}).get("op_name", "?")
        per_type[op] += e["dur"]
        count[op] += 1
        per_node[(op, e["name"][:-len("_kernel_time")])] += e["dur"]
    total = sum(per_type.values())
    wall = sum(r["dur"] for r in kept) / n / 1e3
    print(f"{n} runs, {wall:.2f} ms wall per run, {total / n / 1e3:.2f} ms kernel time per run")
    print(f"  {'op type':40s} {'nodes':>6s} {'ms/run':>9s} {'share':>7s}")
    for op, t in sorted(per_type.items(), key=lambda kv: -kv[1]):
        print(f"  {op:40s} {count[op] // n:6d} {t / n / 1e3:9.3f} {100 * t / total:6.1f}%")
    print("  slowest nodes:")
    for (op, name), t in sorted(per_node.items(), key=lambda kv: -kv[1])[:a.top]:
        print(f"    {t / n / 1e3:8.3f} ms  {op} {name}")


if __name__ == "__main__":
    main()
