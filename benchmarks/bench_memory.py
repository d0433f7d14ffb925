"""Peak memory of the text preprocessing on a big input: ingest -> validate -> tokenize with the
real task functions (the flow's own code, called without the Prefect engine) on 1 M reviews.

    .venv/bin/python benchmarks/bench_memory.py [--reviews 1000000] [--workers 2]

The reviews are the bundled sample repeated, written to a temporary plain .txt file (about
0.4 GB for 1 M). The stages run in a child process; this process samples the resident memory of
the child and of its tokenizer workers every 0.1 s (sum over the process tree, and each process's
own peak) and reads the largest single process's peak from getrusage(RUSAGE_CHILDREN). The
tree's peak is printed last. Target: < 2 GiB. (A worker's own getrusage peak is not used: a
spawned worker is forked before it execs, so its ru_maxrss starts at its parent's size.)
"""
from __future__ import annotations

import argparse
import bz2
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2"
GiB = 1024**3


def write_input(path: Path, n: int) -> int:
    lines = bz2.open(DATA, "rb").read().splitlines(keepends=True)
    with open(path, "wb") as fh:
        for i in range(n):
            fh.write(lines[i % len(lines)])
    return path.stat().st_size


def run_stages(src: str, work: str, workers: int) -> None:
    """The child: the three stages, each from its file, as the flow runs them."""
    from tasks.sentiment.config import (
        PreprocessConfig,
        ReviewIngestConfig,
        ReviewValidationConfig,
        SplitConfig,
    )
    from tasks.sentiment.ingest import ingest_reviews
    from tasks.sentiment.tokenize import tokenize_reviews_task
    from tasks.sentiment.validate import validate_reviews_task

    def peak() -> str:
        return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"

    work = Path(work)
    t0 = time.perf_counter()
    ingest = ingest_reviews.fn(source=src, source_sha256="bench", ingest=ReviewIngestConfig(), output=str(work))
    print(f"ingest    {time.perf_counter() - t0:7.1f} s  {ingest.rows} rows        main process peak so far {peak()}", flush=True)
    t0 = time.perf_counter()
    report = validate_reviews_task.fn(raw=ingest.raw, label_map=ingest.label_map, source=src,
                                      validation=ReviewValidationConfig(), output=str(work))
    print(f"validate  {time.perf_counter() - t0:7.1f} s  {report.rows['accepted']} accepted  main process peak so far {peak()}",
          flush=True)
    t0 = time.perf_counter()
    tok = tokenize_reviews_task.fn(valid=report.valid, preprocess=PreprocessConfig(processes=workers),
                                   split=SplitConfig(), output=str(work))
    print(f"tokenize  {time.perf_counter() - t0:7.1f} s  {tok.rows} rows, vocab {tok.vocab_size}  "
          f"main process peak so far {peak()}", flush=True)


def tree_rss(root: int) -> dict[int, int]:
    """Resident bytes of root and of each of its descendants, by pid."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    parent[int(d)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    rss = {}
    for p in tree:
        try:
            with open(f"/proc/{p}/statm") as fh:
                rss[p] = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reviews", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--child", nargs=2, metavar=("SRC", "WORK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_stages(*args.child, args.workers)
        return

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "reviews.ft.txt"
        size = write_input(src, args.reviews)
        print(f"{args.reviews} reviews, {size / GiB:.2f} GiB plain text; {args.workers} tokenizer workers")
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, __file__, "--child", str(src), str(Path(tmp) / "work"),
                                  "--workers", str(args.workers)], cwd=ROOT)
        peak, per_process = 0, {}
        stop = threading.Event()

        def sample():
            nonlocal peak
            while not stop.is_set():
                rss = tree_rss(child.pid)
                peak = max(peak, sum(rss.values()))
                for pid, r in rss.items():
                    per_process[pid] = max(per_process.get(pid, 0), r)
                stop.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = child.wait()
        stop.set()
        sampler.join()
        if rc:
            sys.exit(f"stages failed (exit {rc})")
        largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        workers = [r for pid, r in per_process.items() if pid != child.pid]
        print(f"total {time.perf_counter() - t0:.1f} s")
        print(f"largest single process peak (getrusage): {largest:.2f} GiB; sampled: main {per_process.get(child.pid, 0) / GiB:.2f} GiB, "
              f"largest worker {max(workers, default=0) / GiB:.2f} GiB")
    print(f"peak memory, {args.reviews} reviews, ingest -> validate -> tokenize: {peak / GiB:.2f} GiB "
          f"(whole process tree, sampled every 0.1 s; target < 2 GiB)")


if __name__ == "__main__":
    main()
