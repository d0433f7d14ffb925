"""`lstm-pipeline forecast` as scripts use it: a subprocess, its exit code, stdout and stderr.

The children talk to the session's test server (PREFECT_API_URL), so no second server starts.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
SBUX = REPO / "data" / "SBUX.csv"
CLI = [sys.executable, "-m", "flows.cli"]

TINY = """name: forecast-tiny
prepare: {lookback: 5, horizon: 3}
model: {hidden_size: 4, fc_size: 8}
train: {epochs: 2, batch_size: 64, patience: 1, min_samples: 1}
evaluate: {max_plots: 1}
"""


def run(args, api_url, **kw):
    env = {**os.environ, "PREFECT_API_URL": api_url, "PYTHONPATH": str(REPO)}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300, **kw)


@pytest.fixture(scope="module")
def trained(prefect_api, tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    config = work / "tiny.yaml"
    config.write_text(TINY)
    result = run(["forecast", "train", "--data", str(SBUX), "--config", str(config), "--output", str(work / "out"),
                  "--json"], prefect_api)
    assert result.returncode == 0, result.stderr[-2000:]
    return work, result


@pytest.mark.slow
def test_train_json_is_the_last_stdout_line(trained):
    _, result = trained
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "Forecast model published."
    summary = json.loads(lines[-1])
    assert set(summary["metrics"]) == {"mase", "smape", "rmse", "mae"}
    assert set(summary["baselines"]) == {"persistence", "moving_average", "exp_smoothing", "ridge", "gbm"}
    assert summary["best_baseline"] in summary["baselines"]
    assert summary["intervals"]["level"] == 0.8 and 0 <= summary["intervals"]["coverage"] <= 1
    assert "80% interval: covers" in result.stdout
    assert summary["rows"] == {"read": 252, "accepted": 252, "quarantined": 0}
    assert Path(summary["bundle"]).is_dir()


@pytest.mark.slow
def test_predict_prints_the_next_horizon_values_on_the_following_business_days(trained, prefect_api):
    _, result = trained
    bundle = json.loads(result.stdout.strip().splitlines()[-1])["bundle"]
    out = run(["forecast", "predict", "--bundle", bundle, "--data", str(SBUX)], prefect_api)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    # SBUX.csv ends on Wednesday 2022-08-17
    assert [(r["ticker"], r["date"], r["step"]) for r in rows] == [
        ("SBUX", "2022-08-18", 1), ("SBUX", "2022-08-19", 2), ("SBUX", "2022-08-22", 3)]
    assert all(r["volume"] > 0 for r in rows)
    assert all(set(r) == {"ticker", "date", "step", "volume", "p10", "p90"} for r in rows)
    assert all(r["p10"] <= r["volume"] <= r["p90"] for r in rows)  # the 80 % interval around the median


@pytest.mark.slow
def test_predict_imports_no_prefect(trained):
    _, result = trained
    bundle = json.loads(result.stdout.strip().splitlines()[-1])["bundle"]
    code = ("import sys, runpy; sys.argv = ['lstm-pipeline', 'forecast', 'predict', '--bundle', sys.argv[1], "
            "'--data', sys.argv[2]]\nfrom flows.cli import app\ntry: app()\nexcept SystemExit: pass\n"
            "print('prefect loaded' if 'prefect' in sys.modules else 'no prefect')")
    out = subprocess.run([sys.executable, "-c", code, bundle, str(SBUX)], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip().splitlines()[-1] == "no prefect", out.stderr


@pytest.mark.parametrize("name, content, rule", [
    ("headeronly.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n", "no data rows"),
    ("wrongcols.csv", "day,price\n2022-01-03,1\n", "missing columns"),
    ("missing.csv", None, "file not found"),
])
def test_bad_training_input_exits_2_with_one_line_and_no_traceback(prefect_api, tmp_path, name, content, rule):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    result = run(["forecast", "train", "--data", str(path), "--output", str(tmp_path / "out")], prefect_api)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {path}: {rule}")


@pytest.mark.slow
def test_predict_with_a_bad_recent_row_names_file_row_and_rule(trained, prefect_api, tmp_path):
    _, result = trained
    bundle = json.loads(result.stdout.strip().splitlines()[-1])["bundle"]
    df = pd.read_csv(SBUX)
    df.loc[len(df) - 2, "Close"] = -1.0
    bad = tmp_path / "SBUX.csv"
    df.to_csv(bad, index=False)
    out = run(["forecast", "predict", "--bundle", bundle, "--data", str(bad)], prefect_api)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == (f"error: {bad}, row 251: Close missing or not positive in the last 20 rows: "
                                  "Close=-1.0 on 2022-08-16")


def test_predict_from_a_folder_that_is_not_a_bundle_exits_2(prefect_api, tmp_path):
    out = run(["forecast", "predict", "--bundle", str(tmp_path), "--data", str(SBUX)], prefect_api)
    assert out.returncode == 2 and "not a bundle" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_train_reads_prices_from_a_url(prefect_api, tmp_path, http_folder):
    served, base_url = http_folder
    (served / "SBUX.csv").write_bytes(SBUX.read_bytes())
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    result = run(["forecast", "train", "--data", f"{base_url}/SBUX.csv", "--config", str(config), "--output",
                  str(tmp_path / "out"), "--json"], prefect_api)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["rows"] == {"read": 252, "accepted": 252, "quarantined": 0} and summary["tickers"] == 1
    assert (next((tmp_path / "out" / "downloads").glob("*/SBUX.csv"))).read_bytes() == SBUX.read_bytes()
