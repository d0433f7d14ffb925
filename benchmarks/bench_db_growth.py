"""Prefect database bytes per nightly run: plots embedded as data: URIs (a local run) against
plots linked from docs.publish_to (object storage in production; a folder here).

Each mode runs the sentiment flow on 600 bundled reviews with a tiny model (first run trains,
the rest reuse its stages, as an unchanged night does) against its own temporary Prefect
server on SQLite, and reports the growth of the database file and of the stored artifacts per
run (after the first).

    .venv/bin/python benchmarks/bench_db_growth.py [--runs 4]
"""
from __future__ import annotations

import argparse
import bz2
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ("preprocess: {seq_len: 60, processes: 1}\nmodel: {embedding_dim: 8, hidden_size: 8}\ntrain: {epochs: 1}\n"
          "validation: {min_rows_per_class: 5}\ngate: {baseline: naive, margin: 0}\n")


def measure(mode: str, runs: int, work: Path) -> tuple[float, float]:
    home = work / f"prefect-{mode}"
    db = home / "prefect.db"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": "",
           "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{db}"}
    cfg = work / f"{mode}.yaml"
    cfg.write_text(CONFIG + (f"docs: {{publish_to: {work / 'site'}, base_url: https://docs.example.com/lstm}}\n"
                             if mode == "linked" else ""))
    sizes, artifacts = [], []
    for _ in range(runs):
        subprocess.run([str(ROOT / ".venv" / "bin" / "lstm-pipeline"), "sentiment", "train", "--data",
                        str(work / "reviews.ft.txt"), "--config", str(cfg), "--output", str(work / f"out-{mode}"),
                        "--force", "--json"], env=env, check=True, capture_output=True, cwd=ROOT)
        with sqlite3.connect(db) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            artifacts.append(con.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM artifact").fetchone()[0])
        sizes.append(db.stat().st_size)
    per_run = (sizes[-1] - sizes[0]) / max(runs - 1, 1)
    per_run_artifacts = (artifacts[-1] - artifacts[0]) / max(runs - 1, 1)
    return per_run, per_run_artifacts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="db-growth-"))
    lines = bz2.open(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2", "rt", encoding="utf-8").read().splitlines()
    (work / "reviews.ft.txt").write_text("\n".join(lines[:600]) + "\n")
    results = {mode: measure(mode, args.runs, work) for mode in ("embedded", "linked")}
    print("| plots | database bytes a run | artifact bytes a run |\n|---|---|---|")
    for mode, (db, art) in results.items():
        print(f"| {mode} | {db:,.0f} | {art:,.0f} |")
    print(f"ratio linked / embedded (artifact bytes): {results['linked'][1] / max(results['embedded'][1], 1):.3f}")


if __name__ == "__main__":
    sys.exit(main())
