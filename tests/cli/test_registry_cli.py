"""`lstm-pipeline registry list|show|promote|rollback` on a registry two real training runs
filled: tables, the JSON contract, decisions recorded with their reasons, exit code 2."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.shared.registry import Registry

pytestmark = pytest.mark.slow  # two training runs fill the registry
CLI = [sys.executable, "-m", "flows.cli"]
ROOT = Path(__file__).resolve().parents[2]


def cli(args, api_url=None):
    env = {**os.environ, **({"PREFECT_API_URL": api_url} if api_url else {})}
    return subprocess.run(CLI + args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def last_json(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def registry(prefect_api, review_lines, tmp_path_factory):
    """v0001, then v0002, each made champion (--force: these tiny models need not pass the gate)."""
    tmp = tmp_path_factory.mktemp("reg")
    data = tmp / "reviews.ft.txt"
    data.write_text("\n".join(review_lines[:300]) + "\n")
    for seed in (1, 2):
        cfg = tmp / f"c{seed}.yaml"
        cfg.write_text("preprocess: {seq_len: 40, processes: 1}\nmodel: {embedding_dim: 8, hidden_size: 8}\n"
                       f"train: {{epochs: 1, seed: {seed}}}\nvalidation: {{min_rows_per_class: 5}}\n"
                       "gate: {baseline: naive, margin: 0}\n")
        last_json(cli(["sentiment", "train", "--data", str(data), "--config", str(cfg), "--output", str(tmp / "out"),
                       "--registry", str(tmp / "registry"), "--json", "--force"], prefect_api))
    return str(tmp / "registry")


def test_list_shows_every_version_with_its_metrics_and_the_champion(registry):
    proc = cli(["registry", "list", "--kind", "sentiment", "--registry", registry, "--json"])
    out = last_json(proc)
    assert out["kind"] == "sentiment" and out["champion"] == "v0002"
    assert [v["version"] for v in out["versions"]] == ["v0001", "v0002"]
    assert [v["champion"] for v in out["versions"]] == [False, True]
    assert all(0 <= v["metrics"]["accuracy"] <= 1 and v["created"] for v in out["versions"])
    assert "* v0002" in proc.stdout  # the readable table marks the champion


def test_rollback_returns_to_the_earlier_champion_and_promote_moves_forward_again(registry):
    out = last_json(cli(["registry", "rollback", "--kind", "sentiment", "--registry", registry,
                         "--reason", "v0002 misclassifies refunds", "--json"]))
    assert out == {"kind": "sentiment", "champion": "v0001", "previous": "v0002"}
    assert last_json(cli(["registry", "list", "--kind", "sentiment", "--registry", registry, "--json"]))["champion"] == "v0001"
    # nothing before v0001: a second rollback is refused with one line naming the registry
    proc = cli(["registry", "rollback", "--kind", "sentiment", "--registry", registry, "--reason", "again"])
    assert proc.returncode == 2 and registry in proc.stderr and "v0001" in proc.stderr and "Traceback" not in proc.stderr
    out = last_json(cli(["registry", "promote", "v0002", "--kind", "sentiment", "--registry", registry,
                         "--reason", "fixed upstream", "--json"]))
    assert out == {"kind": "sentiment", "champion": "v0002", "previous": "v0001"}
    manual = [d for d in Registry(registry).decisions("sentiment") if d.get("manual")]
    assert [(d["action"], d["candidate"], d["reasons"]) for d in manual] == [
        ("rollback", "v0001", ["rollback: v0002 misclassifies refunds"]),
        ("promote", "v0002", ["promote: fixed upstream"])]


def test_show_gives_lineage_metrics_and_the_gate_decision(registry):
    out = last_json(cli(["registry", "show", "v0001", "--kind", "sentiment", "--registry", registry, "--json"]))
    assert out["version"] == "v0001" and out["lineage"]["source"].endswith("reviews.ft.txt")
    assert "lstm" in out["metrics"] and out["decision"]["candidate"] == "v0001"


def test_an_unknown_version_exits_2_naming_the_registry_and_the_version(registry):
    for args in (["show", "v0042"], ["promote", "v0042", "--reason", "x"]):
        proc = cli(["registry", *args, "--kind", "sentiment", "--registry", registry])
        assert proc.returncode == 2 and "v0042" in proc.stderr and registry in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout.strip() == ""


def test_batch_predict_runs_the_flow_with_the_champion(registry, prefect_api, tmp_path):
    import pyarrow.parquet as pq

    texts = tmp_path / "new.txt"
    texts.write_text("great product, works well\nbroke after a week\nit is a toaster\n")
    champion = Registry(registry).champion("sentiment")["version"]
    out = last_json(cli(["batch-predict", "--kind", "sentiment", "--data", str(texts), "--registry", registry,
                         "--output", str(tmp_path / "pred"), "--json"], prefect_api))
    assert out["version"] == champion and out["rows"] == 3
    table = pq.read_table(out["predictions"]).to_pandas()
    assert len(table) == 3 and set(table["model_version"]) == {champion}


def test_drift_compares_a_file_with_the_champions_training_data(registry, review_lines, tmp_path):
    same, titles = tmp_path / "same.ft.txt", tmp_path / "titles.ft.txt"
    same.write_text("\n".join(review_lines[300:600]) + "\n")  # more reviews like the champion's
    titles.write_text("\n".join(l.split(":", 1)[0] for l in review_lines[300:600]) + "\n")  # 3-word texts
    champion = Registry(registry).champion("sentiment")["version"]
    calm = last_json(cli(["drift", "--kind", "sentiment", "--data", str(same), "--registry", registry, "--json"]))
    assert calm["against"] == champion and not calm["flagged"]
    proc = cli(["drift", "--kind", "sentiment", "--data", str(titles), "--registry", registry, "--json"])
    drifted = last_json(proc)
    assert drifted["flagged"] and any("length" in c for c in drifted["flagged_checks"]), drifted["flagged_checks"]
    assert "DRIFT" in proc.stdout
    missing = cli(["drift", "--kind", "sentiment", "--data", str(tmp_path / "nope.txt"), "--registry", registry])
    assert missing.returncode == 2 and "nope.txt" in missing.stderr and "Traceback" not in missing.stderr
