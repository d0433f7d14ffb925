"""Batch prediction of many reviews: peak memory and reviews per second, before (the whole input
read into memory and tokenized in one process, as `sentiment predict` did until issue 15) and
after (the streaming path: tasks/sentiment/stream.py), both measured in this one run, each in its
own process, on the same bundle and the same file.

The inputs are made by perturbing the bundled reviews (each copy drops and swaps a few words,
seeded), so they are distinct texts, not repeats. Peak memory is the largest sum of resident
memory over the measured process and its children (the tokenizing workers), sampled every 50 ms.

    .venv/bin/python benchmarks/bench_batch_predict.py [--sizes 50000 200000] [--bundle DIR]

Without --bundle a model is trained on the bundled reviews first (about a minute, not timed).
"""
from __future__ import annotations

import argparse
import bz2
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DATA = ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2"


def perturbed_reviews(n: int, seed: int = 13) -> Path:
    """n distinct-looking reviews (no labels), made from the bundled ones; cached by size."""
    path = RESULTS / f"reviews-perturbed-{n}.txt"
    if path.exists():
        return path
    rng = random.Random(seed)
    texts = [line.split(" ", 1)[1] for line in bz2.open(DATA, "rt", encoding="utf-8").read().splitlines()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            words = texts[i % len(texts)].split()
            words = [w for w in words if rng.random() > 0.08] or words
            for _ in range(max(1, len(words) // 15)):
                j = rng.randrange(len(words))
                k = min(len(words) - 1, j + 1)
                words[j], words[k] = words[k], words[j]
            fh.write(" ".join(words) + "\n")
    return path


def tree_rss(pid: int) -> int:
    """Resident bytes of pid and all its descendants (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(parents.get(p, []))
    return total


def measure(cmd: list[str], out_path: Path) -> tuple[float, int]:
    """(seconds, peak resident bytes of the process tree) of cmd, its stdout to out_path."""
    with open(out_path, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, cwd=ROOT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return seconds, peak


def legacy(bundle: str, input_path: str) -> None:
    """The path `sentiment predict` had before streaming: read everything, drop blank lines,
    tokenize and classify in this one process, then print."""
    from lstm_models.predict import SentimentPredictor

    predictor = SentimentPredictor.load(bundle)
    lines = Path(input_path).read_text(encoding="utf-8-sig").splitlines()
    texts = [line for line in lines if line.strip()]
    for label, prob in zip(*predictor.predict(texts)):
        sys.stdout.write(json.dumps({"label": int(label), "probability": round(float(prob), 6)}) + "\n")


def train_bundle() -> str:
    out = RESULTS / "predict-bench"
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "sentiment", "train", "--data", str(DATA), "--output",
                           str(out), "--json"], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])["bundle"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--bundle")
    ap.add_argument("--legacy", nargs=2, metavar=("BUNDLE", "INPUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.legacy:
        return legacy(*args.legacy)
    bundle = args.bundle or train_bundle()
    print(f"bundle {bundle}; {os.cpu_count()} cores")
    print(f"{'reviews':>8} {'path':<10} {'seconds':>8} {'reviews/s':>10} {'peak MB':>8}")
    for n in args.sizes:
        path = perturbed_reviews(n)
        rows = {}
        for name, cmd in [
            ("before", [sys.executable, __file__, "--legacy", bundle, str(path)]),
            ("streaming", [sys.executable, "-m", "flows.cli", "sentiment", "predict", "--bundle", bundle,
                           "--input", str(path)]),
        ]:
            out = RESULTS / f"predict-{name}-{n}.jsonl"
            seconds, peak = measure(cmd, out)
            lines = sum(1 for _ in open(out))
            assert lines == n, f"{name}: {lines} output lines for {n} input lines"
            rows[name] = (seconds, peak)
            print(f"{n:>8} {name:<10} {seconds:>8.1f} {n / seconds:>10.0f} {peak / 2**20:>8.0f}", flush=True)
        (b_s, b_m), (a_s, a_m) = rows["before"], rows["streaming"]
        print(f"{n:>8} {'ratio':<10} throughput x{b_s / a_s:.2f}, peak memory x{a_m / b_m:.2f}")


if __name__ == "__main__":
    main()
