"""Cold run vs unchanged re-run of the whole sentiment flow, through the CLI as users run it.

    .venv/bin/python benchmarks/bench_cache.py [--data PATH] [--config NAME]

Prints each run's wall time and the flow's own time (the rest is Python start-up, imports and
the temporary Prefect API server), which stages were cached, and the warm/cold ratio last.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(data: str, output: Path, config: str | None) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "flows.cli", "sentiment", "train", "--data", data, "--output", str(output), "--json"]
    if config:
        cmd += ["--config", config]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2"))
    ap.add_argument("--config", default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import flows.sentiment"], cwd=ROOT, check=True)
    imports = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        cold_wall, cold = run(args.data, Path(tmp), args.config)
        warm_wall, warm = run(args.data, Path(tmp), args.config)
    print(f"{'run':<6}{'wall s':>8}{'flow s':>8}  cached stages")
    print(f"{'cold':<6}{cold_wall:>8.1f}{cold['seconds']:>8.1f}  {', '.join(cold['cached']) or 'none'}")
    print(f"{'warm':<6}{warm_wall:>8.1f}{warm['seconds']:>8.1f}  {', '.join(warm['cached']) or 'none'}")
    print(f"warm run outside the flow: {warm_wall - warm['seconds']:.1f} s "
          f"(Python + imports of Prefect/torch/GX: {imports:.1f} s; the rest is the temporary API server)")
    print(f"warm/cold (wall): {warm_wall / cold_wall:.3f}")


if __name__ == "__main__":
    main()
