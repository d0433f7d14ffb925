"""Batch prediction of many reviews: peak memory and reviews per second, before (the whole input
read into memory and tokenized in one process, as `sentiment predict` did until issue 15) and
after (the streaming path: tasks/sentiment/stream.py), both measured in this one run, each in its
own process, on the same bundle and the same file.

The inputs are made by perturbing the bundled reviews (each copy drops and swaps a few words,
seeded), so they are distinct texts, not repeats. Peak memory is sampled every 50 ms over the measured
process and its children (the scoring workers): the sum of PSS (shared pages split between the
processes that share them: the memory the job holds) and, for reference, the sum of RSS (which
counts shared library pages once a process).

    .venv/bin/python benchmarks/bench_batch_predict.py [--sizes 50000 200000] [--bundle DIR] [--check-tokens]

"before" tokenizes with NLTKWordTokenizer itself, as the old path did; the streaming path with
lstm_models/word_tokens.py (the same tokens; --check-tokens compares them review by review).

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
sys.path.insert(0, str(ROOT / "scripts"))
from prefect_stack import descendants  # noqa: E402

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


def tree_memory(pid: int) -> tuple[int, int]:
    """(resident bytes, proportional set size bytes) of pid and all its descendants (Linux /proc).
    RSS counts pages shared between the processes (the Python runtime, torch's libraries) once a
    process; PSS splits them between the processes that share them, so its sum is the memory the
    job holds."""
    rss = pss = 0
    for p in [pid, *descendants(pid)]:
        try:
            rss += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            pss += next(int(line.split()[1]) * 1024 for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
                        if line.startswith("Pss:"))
        except (OSError, IndexError, ValueError, StopIteration):
            pass
    return rss, pss


def measure(cmd: list[str], out_path: Path) -> tuple[float, int, int]:
    """(seconds, peak RSS sum, peak PSS sum) of cmd's process tree, its stdout to out_path."""
    with open(out_path, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, cwd=ROOT)
        peak_rss = peak_pss = 0
        while proc.poll() is None:
            rss, pss = tree_memory(proc.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return seconds, peak_rss, peak_pss


def legacy(bundle: str, input_path: str) -> None:
    """The path `sentiment predict` had before streaming: read everything, drop blank lines,
    tokenize and classify in this one process (batches of 512), then print."""
    import nltk  # noqa: F401  (as before: the whole package, scikit-learn and SciPy with it)
    import torch

    from lstm_models import text
    from lstm_models.predict import SentimentPredictor
    from lstm_models.training import predict

    text._TOKENIZER = text._TOKENIZER.nltk  # as before: NLTK's tokenizer itself (since issue 22: the same tokens, faster)
    predictor = SentimentPredictor.load(bundle)
    lines = Path(input_path).read_text(encoding="utf-8-sig").splitlines()
    texts = [line for line in lines if line.strip()]
    prob = torch.sigmoid(predict(predictor.model, predictor.encode(texts), device=torch.device("cpu"))).numpy()
    for label, p in zip((prob >= predictor.threshold).astype(int), prob):  # batches of 512, as it was
        sys.stdout.write(json.dumps({"label": int(label), "probability": round(float(p), 6)}) + "\n")


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
    ap.add_argument("--check-tokens", action="store_true", help="also compare every review's tokens with NLTK's own")
    ap.add_argument("--legacy", nargs=2, metavar=("BUNDLE", "INPUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.legacy:
        return legacy(*args.legacy)
    bundle = args.bundle or train_bundle()
    print(f"bundle {bundle}; {os.cpu_count()} cores")
    print(f"{'reviews':>8} {'path':<10} {'seconds':>8} {'reviews/s':>10} {'peak PSS MB':>12} {'peak RSS MB':>12}")
    for n in args.sizes:
        path = perturbed_reviews(n)
        rows = {}
        for name, cmd in [
            ("before", [sys.executable, __file__, "--legacy", bundle, str(path)]),
            ("streaming", [sys.executable, "-m", "flows.cli", "sentiment", "predict", "--bundle", bundle,
                           "--input", str(path)]),
        ]:
            out = RESULTS / f"predict-{name}-{n}.jsonl"
            seconds, rss, pss = measure(cmd, out)
            lines = sum(1 for _ in open(out))
            assert lines == n, f"{name}: {lines} output lines for {n} input lines"
            rows[name] = (seconds, pss)
            print(f"{n:>8} {name:<10} {seconds:>8.1f} {n / seconds:>10.0f} {pss / 2**20:>12.0f} {rss / 2**20:>12.0f}",
                  flush=True)
        (b_s, b_m), (a_s, a_m) = rows["before"], rows["streaming"]
        same = sum(json.loads(b)["label"] == json.loads(a)["label"] for b, a in
                   zip(open(RESULTS / f"predict-before-{n}.jsonl"), open(RESULTS / f"predict-streaming-{n}.jsonl")))
        print(f"{n:>8} {'ratio':<10} throughput x{b_s / a_s:.2f}, peak memory (PSS) x{a_m / b_m:.2f}, "
              f"identical labels {same} of {n}")
        if args.check_tokens:
            print(f"{n:>8} tokens     {same_tokens(path)}", flush=True)


def same_tokens(path: Path) -> str:
    """The fast tokenizer against NLTK's own on every line of path, cleaned as training cleans."""
    from lstm_models.text import _TOKENIZER, clean_text

    n = same = 0
    for line in open(path, encoding="utf-8"):
        text = clean_text(line.rstrip("\n"))
        n += 1
        same += _TOKENIZER.tokenize(text) == _TOKENIZER.nltk.tokenize(text)
    return f"identical tokens for {same} of {n} reviews (lstm_models/word_tokens.py against NLTKWordTokenizer)"


if __name__ == "__main__":
    main()
