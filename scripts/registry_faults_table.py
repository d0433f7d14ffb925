"""The registry-fault table: each fault of tests/registry_faults/cases.yaml applied to a copy of
a small real registry (two tiny training runs, v0002 champion), each command run, its exit code
and last line printed as Markdown. Prints what the corpus test asserts, for the README.

    .venv/bin/python scripts/registry_faults_table.py
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CASES = yaml.safe_load((ROOT / "tests" / "registry_faults" / "cases.yaml").read_text())
CLI = [sys.executable, "-m", "flows.cli"]
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \|")  # Prefect's console log lines
CONFIG = {"preprocess": {"seq_len": 40, "processes": 1}, "model": {"embedding_dim": 8, "hidden_size": 8},
          "train": {"epochs": 1}, "validation": {"min_rows_per_class": 5}, "gate": {"baseline": "naive", "margin": 0}}


def damage(kind_dir: Path, how: dict) -> None:
    if "pointer" in how:
        (kind_dir / "champion.json").write_text(how["pointer"])
    if "remove" in how:
        (kind_dir / how["remove"]).unlink()
    if "truncate" in how:
        path = kind_dir / how["truncate"]
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for rel, text in how.get("write", {}).items():
        (kind_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (kind_dir / rel).write_text(text)


def line(proc: subprocess.CompletedProcess, root: Path, first: bool = False) -> str:
    """Exit code and the line a user reads (verify: its first problem), the registry's path as R."""
    lines = [x for x in proc.stderr.strip().splitlines() if x and "WARNING" not in x and not LOG_LINE.match(x)]
    text = (lines[0] if first else lines[-1]) if lines else "ok"
    text = text.replace(str(root), "R")
    return f"{proc.returncode}: `{text[:100]}" + ("...`" if len(text) > 100 else "`")


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, env=env)


def main() -> None:
    import bz2

    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from flows.sentiment import sentiment_training
    from tasks.sentiment.config import SentimentConfig
    from tasks.shared.errors import PipelineError

    tmp = Path(tempfile.mkdtemp(prefix="registry-faults-"))
    data = tmp / "reviews.ft.txt"
    lines = bz2.open(ROOT / "data" / "amazon_polarity_head6459.ft.txt.bz2", "rt", encoding="utf-8").read().splitlines()
    data.write_text("\n".join(lines[:300]) + "\n")
    texts = tmp / "texts.txt"
    texts.write_text("I love this book.\nTerrible.\n")
    rows = []
    with prefect_test_harness(server_startup_timeout=120):
        def train(seed: int, registry: Path, force: bool = False) -> dict:
            cfg = SentimentConfig.model_validate({**CONFIG, "train": {"epochs": 1, "seed": seed}})
            return sentiment_training(data=str(data), config=cfg, output=str(tmp / "out"), registry=str(registry),
                                      force=force)
        for seed in (1, 2):
            train(seed, tmp / "registry", force=True)
        for case in CASES:
            reg = tmp / case["id"]
            shutil.copytree(tmp / "registry", reg)
            damage(reg / "sentiment", case["damage"])
            run = functools.partial(cli, {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()})
            other = tmp / f"{case['id']}-rollback"  # rollback moves the pointer: on its own copy
            shutil.copytree(tmp / "registry", other)
            damage(other / "sentiment", case["damage"])
            cells = [line(run("registry", "list", "--kind", "sentiment", "--registry", str(reg)), reg),
                     line(run("registry", "verify", "--kind", "sentiment", "--registry", str(reg)), reg, first=True),
                     line(run("registry", "show", "v0001", "--kind", "sentiment", "--registry", str(reg)), reg),
                     line(run("registry", "rollback", "--kind", "sentiment", "--registry", str(other), "--reason", "t"),
                          other),
                     line(run("sentiment", "predict", "--registry", str(reg), "--input", str(texts)), reg),
                     line(run("batch-predict", "--kind", "sentiment", "--data", str(texts), "--registry", str(reg),
                              "--output", str(tmp / "predictions")), reg),
                     line(run("drift", "--kind", "sentiment", "--data", str(texts), "--registry", str(reg)), reg)]
            try:
                s = train(3, reg)
                gate = next((g for g in s["gate"] if "champion" in g), s["gate"][-1]).replace(str(reg), "R")
                cells.append(f"completes: {s['version']}; `{gate[:90]}...`")
            except PipelineError as exc:
                cells.append(f"refused before training: `{str(exc).replace(str(reg), 'R')[:100]}...`")
            rows.append((case["id"], *cells))
    print("| fault | registry list | registry verify | registry show v0001 | registry rollback | sentiment predict "
          "(champion) | batch-predict | drift | sentiment train |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
