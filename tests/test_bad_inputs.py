"""The bad-input corpus (tests/bad_inputs/cases.yaml) through the functions the flows run:
ingest -> validate -> batch acceptance (and config loading). Each case must end as its manifest
says: a PipelineError naming the file and the rule, rows quarantined with their reason and
source row, or the input read correctly. Nothing may end in any other exception.

A few cases also run through the real CLI: exit code 2, one clear line on stderr, no traceback.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flows.config import ForecastConfig, SentimentConfig, load_config
from tasks.shared.errors import ConfigError, DataError, PipelineError
from tasks.shared.results import Validation

HERE = Path(__file__).resolve().parent / "bad_inputs"
REPO = HERE.parents[1]
CASES = yaml.safe_load((HERE / "cases.yaml").read_text())
GOOD = {"reviews": HERE / "reviews" / "good.ft.txt", "prices": HERE / "prices" / "good.csv"}
SUITES = {"reviews": "reviews-v1", "prices": "prices-v1"}
PRICE_VALUES = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]


def case_input(case: dict, tmp_path: Path) -> Path:
    """The case's input: its checked-in file, or the one `make` creates in tmp_path."""
    if "make" not in case:
        return HERE / case["file"]
    path = tmp_path / Path(case["file"]).name
    make = case["make"]
    if make == "directory":
        path.mkdir()
    elif make == "fifo":
        os.mkfifo(path)
    elif make == "unreadable":
        shutil.copyfile(GOOD[case["kind"]], path)
        path.chmod(0)
        if os.access(path, os.R_OK):  # root reads files without read permission
            path.unlink()
            if not Path("/proc/self/mem").exists():  # root without /proc can read every file: no case to build
                pytest.skip("running as root without /proc: no file is unreadable")
            path.symlink_to("/proc/self/mem")  # a regular file whose byte 0 (address 0) no process can read
    elif make == "huge_line":  # 5 MB: too big to check in
        lines = GOOD["reviews"].read_text().splitlines()
        lines.insert(12, "__label__2 Great! " + "very " * 1_000_000)
        path.write_text("\n".join(lines) + "\n")
    else:
        assert make == "missing", make
    return path


def run_reviews(path: Path, out: Path) -> Validation:
    """What flows/sentiment.py runs before tokenizing (the stage tasks' functions, outside a flow run)."""
    from flows.common import accept_batch
    from flows.sentiment import hash_input
    from tasks.sentiment.ingest import ingest_reviews
    from tasks.sentiment.validate import validate_reviews_task

    cfg = SentimentConfig()
    sha = hash_input.fn(str(path))
    ingest = ingest_reviews.fn(source=str(path), source_sha256=sha, ingest=cfg.ingest, output=str(out))
    report = validate_reviews_task.fn(raw=ingest.raw, label_map=ingest.label_map, source=str(path),
                                      validation=cfg.validation, output=str(out))
    accept_batch.fn(report, str(path))
    return report


def run_prices(path: Path, out: Path) -> Validation:
    """What flows/forecast.py runs before preparing windows."""
    from flows.common import accept_batch
    from flows.forecast import hash_prices
    from tasks.forecast.ingest import ingest_prices_task
    from tasks.forecast.validate import validate_prices_task

    cfg = ForecastConfig()
    sha = hash_prices.fn(str(path))
    ingest = ingest_prices_task.fn(source=str(path), source_sha256=sha, output=str(out))
    report = validate_prices_task.fn(prices=ingest.prices, source=str(path), validation=cfg.validation,
                                     output=str(out))
    accept_batch.fn(report, str(path))
    return report


def run_case(case: dict, path: Path, out: Path) -> dict:
    if case["kind"] == "config":
        cls = {"sentiment": SentimentConfig, "forecast": ForecastConfig}[case["pipeline"]]
        return load_config(cls, path, case["pipeline"])
    return {"reviews": run_reviews, "prices": run_prices}[case["kind"]](path, out)


def good_rows(kind: str, tmp_path_factory) -> pd.DataFrame:
    """The accepted rows of the base file, as the pipeline reads them."""
    report = run_case({"kind": kind}, GOOD[kind], tmp_path_factory.mktemp(f"good-{kind}"))
    return pd.read_parquet(report.valid)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict:
    return {kind: good_rows(kind, tmp_path_factory) for kind in GOOD}


def values(kind: str, rows: pd.DataFrame) -> list[tuple]:
    """What must survive reading: (label, text) of reviews, date and values of prices."""
    columns = ["label", "text"] if kind == "reviews" else ["Date", *PRICE_VALUES]
    return sorted(rows[columns].itertuples(index=False, name=None))


def test_the_corpus_is_complete():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)) >= 25
    for case in CASES:
        assert case["kind"] in ("reviews", "prices", "config") and case["expect"] in ("error", "quarantine", "accepted")
        assert case.get("why"), case["id"]
        assert "make" in case or (HERE / case["file"]).is_file(), case["id"]
        assert case["expect"] != "error" or case.get("rule"), case["id"]
        assert case["expect"] != "quarantine" or case.get("quarantined"), case["id"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, tmp_path, good):
    path = case_input(case, tmp_path)
    if case["expect"] == "error":
        with pytest.raises(PipelineError) as err:
            run_case(case, path, tmp_path / "out")
        assert isinstance(err.value, ConfigError if case["kind"] == "config" else DataError)
        message = str(err.value)
        assert path.name in message and case["rule"] in message, message
        if "row" in case:
            assert err.value.row == case["row"] and f"row {case['row']}" in message, message
        return

    kind = case["kind"]
    report = run_case(case, path, tmp_path / "out")
    valid, quarantine = pd.read_parquet(report.valid), pd.read_parquet(report.quarantine)
    rows = report.rows
    assert rows["read"] == rows["accepted"] + rows["quarantined"]
    assert (len(valid), len(quarantine)) == (rows["accepted"], rows["quarantined"])
    expected = {int(row): reason for row, reason in (case.get("quarantined") or {}).items()}
    got = dict(zip(quarantine["row"].astype(int), quarantine["reason"]))
    assert set(got) == set(expected), got
    for row, reason in expected.items():
        assert reason in got[row], (row, got[row])
    if case["expect"] == "accepted":
        assert values(kind, valid) == values(kind, good[kind])
    else:  # every accepted row is one of the good ones, unchanged
        assert set(values(kind, valid)) <= set(values(kind, good[kind]))
    if kind == "reviews":
        assert not valid["text"].str.contains("\r").any()
    assert report.report["suite"] == {"name": kind, "version": SUITES[kind]}
    assert Path(report.report["data_docs"]).is_file()


# -- the same through the CLI, as a user or a scheduler runs it ----------------------------------

CLI_CASES = [c for c in CASES if c.get("cli")]
LSTM_PIPELINE = Path(sys.executable).with_name("lstm-pipeline")


def cli_args(case: dict, path: Path) -> list[str]:
    pipeline = case.get("pipeline") or {"reviews": "sentiment", "prices": "forecast"}[case["kind"]]
    if case["kind"] == "config":
        return [pipeline, "train", "--data", str(GOOD["reviews" if pipeline == "sentiment" else "prices"]),
                "--config", str(path)]
    return [pipeline, "train", "--data", str(path)]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c["id"] for c in CLI_CASES])
def test_bad_input_through_the_cli_exits_2_with_a_clear_message(case, prefect_api, tmp_path):
    path = case_input(case, tmp_path)
    command = [str(LSTM_PIPELINE)] if LSTM_PIPELINE.exists() else [sys.executable, "-m", "flows.cli"]
    env = {**os.environ, "PREFECT_API_URL": prefect_api}  # the session's server: no second start-up
    proc = subprocess.run([*command, *cli_args(case, path), "--output", str(tmp_path / "out"), "--json"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert path.name in proc.stderr and case["rule"] in proc.stderr, proc.stderr[-2000:]
    assert proc.stdout.strip() == ""
