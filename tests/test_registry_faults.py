"""The registry-fault corpus (tests/registry_faults/cases.yaml): each fault damages a copy of a
registry two real training runs filled, then every command that reads it runs: `registry list`,
`registry verify`, `registry show`, `registry rollback`, `sentiment predict`, `batch-predict` and `drift`
with the champion (the real CLI, in a subprocess), and a
new training run into that registry (the flow). Each ends as the case says: exit 2 with one
clear line naming what is damaged, never a traceback; damage to one version leaves the others
usable; a damaged pointer stops training before it trains and says how to set it again."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tasks.sentiment.config import SentimentConfig
from tasks.shared.errors import PipelineError
from tasks.shared.registry import Registry
from tasks.shared.registry_checks import verify, version_problems

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from registry_faults_table import damage  # noqa: E402  (one way to apply a case's damage)

pytestmark = pytest.mark.slow  # three small training runs
HERE = Path(__file__).parent
CASES = yaml.safe_load((HERE / "registry_faults" / "cases.yaml").read_text())
ROOT = HERE.parent
CLI = [sys.executable, "-m", "flows.cli"]


def config(seed: int) -> dict:
    return {"preprocess": {"seq_len": 40, "processes": 1}, "model": {"embedding_dim": 8, "hidden_size": 8},
            "train": {"epochs": 1, "seed": seed}, "validation": {"min_rows_per_class": 5},
            "gate": {"baseline": "naive", "margin": 0}}


@pytest.fixture(scope="module")
def built(prefect_api, review_lines, tmp_path_factory):
    """A registry with v0001 and v0002 (each forced champion: v0002 is, v0001 is its rollback),
    the reviews, the output folder whose stages later runs reuse, and three lines to predict."""
    from flows.sentiment import sentiment_training

    tmp = tmp_path_factory.mktemp("faults")
    data = tmp / "reviews.ft.txt"
    data.write_text("\n".join(review_lines[:300]) + "\n")
    for seed in (1, 2):
        sentiment_training(data=str(data), config=SentimentConfig.model_validate(config(seed)), output=str(tmp / "out"),
                           registry=str(tmp / "registry"), force=True)
    texts = tmp / "texts.txt"
    texts.write_text("I love this book.\nTerrible, it broke in a day.\nFine.\n")
    assert Registry(tmp / "registry").champion("sentiment")["version"] == "v0002"
    assert verify(Registry(tmp / "registry"), "sentiment")["sound"]
    return {"registry": tmp / "registry", "data": data, "out": tmp / "out", "texts": texts}


def touched(how: dict) -> str | None:
    """The version a damage hits (None: the pointer or a foreign folder)."""
    paths = [how.get("remove"), how.get("truncate"), *how.get("write", {})]
    hit = {p.split("/")[1] for p in paths if p and p.startswith("versions/v")}
    return hit.pop() if hit else None


def cli(*args: str, api: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "PREFECT_API_URL": api})


def test_the_corpus_covers_every_fault_the_issue_names():
    ids = {c["id"] for c in CASES}
    assert len(ids) == len(CASES) >= 9
    assert all(c["why"] and set(c["expect"]) == {"list", "verify", "show", "predict", "batch_predict", "drift",
                                                 "rollback", "train"} for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_registry_fault(case, built, prefect_api, tmp_path):
    from flows.sentiment import sentiment_training

    registry, other = tmp_path / "registry", tmp_path / "for-rollback"
    for copy in (registry, other):
        shutil.copytree(built["registry"], copy)
        damage(copy / "sentiment", case["damage"])
    reg = str(registry)
    expect = case["expect"]

    runs = {"list": cli("registry", "list", "--kind", "sentiment", "--registry", reg, "--json"),
            "verify": cli("registry", "verify", "--kind", "sentiment", "--registry", reg),
            "show": cli("registry", "show", "v0001", "--kind", "sentiment", "--registry", reg),
            "predict": cli("sentiment", "predict", "--registry", reg, "--input", str(built["texts"])),
            "batch_predict": cli("batch-predict", "--kind", "sentiment", "--data", str(built["texts"]), "--registry",
                                 reg, "--output", str(tmp_path / "predictions"), api=prefect_api),
            "drift": cli("drift", "--kind", "sentiment", "--data", str(built["texts"]), "--registry", reg),
            # it moves the pointer: on its own copy, so training below meets the damage as it was
            "rollback": cli("registry", "rollback", "--kind", "sentiment", "--registry", str(other), "--reason", "t")}
    for command, proc in runs.items():
        want = expect[command]
        said = proc.stderr + (proc.stdout if command == "list" else "")
        assert "Traceback" not in proc.stderr, (command, proc.stderr[-3000:])
        assert proc.returncode == want["exit"], (command, proc.returncode, proc.stderr[-2000:])
        assert want.get("says", "") in said, (command, said[-2000:])
        if want["exit"] == 2:
            assert len(proc.stderr.strip().splitlines()) >= 1 and proc.stderr.strip().splitlines()[-1].startswith("error: ")
    listed = json.loads(runs["list"].stdout.strip().splitlines()[-1])
    sound = {v["version"] for v in listed["versions"] if not v.get("damaged")}
    assert {"v0001", "v0002"} - {touched(case["damage"])} <= sound, listed  # the other versions stay usable
    if expect["predict"]["exit"] == 0:
        records = [json.loads(line) for line in runs["predict"].stdout.strip().splitlines()]
        assert [r["label"] in (0, 1) for r in records] == [True] * 3

    # a new training run into the damaged registry (its stages reused from the first runs)
    before = (registry / "sentiment" / "champion.json").read_bytes() if (registry / "sentiment" / "champion.json").exists() else None
    want = expect["train"]
    try:
        summary = sentiment_training(data=str(built["data"]), config=SentimentConfig.model_validate(config(3)),
                                     output=str(built["out"]), registry=reg)
    except PipelineError as exc:
        assert not want["completes"], str(exc)
        assert want["says"] in str(exc), str(exc)
        after = (registry / "sentiment" / "champion.json").read_bytes()
        assert after == before  # a damaged pointer is not overwritten silently
        return
    assert want["completes"], summary
    assert want.get("says", "") in " ".join(summary["gate"]), summary["gate"]
    assert summary["version"] == "v0003" and version_problems(Registry(reg), "sentiment", "v0003") == []
