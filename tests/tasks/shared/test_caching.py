"""Stage cache keys: derived from the stage's code and everything it imports from the project,
so an edit anywhere on a stage's path re-runs it and an edit elsewhere keeps its cache hit."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.forecast.ingest import ingest_prices_task
from tasks.forecast.validate import validate_prices_task
from tasks.sentiment.profile import profile_reviews_task
from tasks.sentiment.train import train_classifier_task
from tasks.shared.caching import code_modules, code_version, key_value

REPO = Path(__file__).resolve().parents[3]

STAGES = r"""
import json, sys
from prefect import flow
from tasks.forecast.config import PriceValidationConfig
from tasks.forecast.ingest import ingest_prices_task
from tasks.forecast.prices import prices_sha256
from tasks.forecast.validate import validate_prices_task
from tasks.shared.caching import run_stage

@flow
def ingest_and_validate(data: str, output: str) -> dict:
    ingest = run_stage(ingest_prices_task, output, source=data, source_sha256=prices_sha256(data))
    validate = run_stage(validate_prices_task, output, prices=ingest.result.prices, source=data,
                         validation=PriceValidationConfig())
    return {"ingest": ingest.cached, "validate": validate.cached, "tickers": ingest.result.tickers}

print(json.dumps(ingest_and_validate(sys.argv[1], sys.argv[2])))
"""


def test_a_stage_covers_the_modules_it_reaches_through_others():
    # the two stale keys of the hand-kept lists: the price readers the ingest wrapper calls, and
    # split_texts, which the review profile calls from the tokenize module
    assert "tasks.forecast.prices" in code_modules(ingest_prices_task)
    assert {"tasks.sentiment.tokenize", "tasks.sentiment.shards", "lstm_models.text"} <= set(code_modules(profile_reviews_task))
    # through two hops: the validate stage imports the forecast config, which imports the shared one
    assert {"tasks.forecast.config", "tasks.shared.config", "tasks.shared.gx"} <= set(code_modules(validate_prices_task))
    assert {"lstm_models.training", "lstm_models.classifier"} <= set(code_modules(train_classifier_task))
    # and nothing of the other pipeline
    assert not [m for m in code_modules(ingest_prices_task, validate_prices_task) if m.startswith("tasks.sentiment")]
    assert code_version(ingest_prices_task) != code_version(validate_prices_task)


def test_key_values_name_outputs_relative_to_the_output_folder():
    from tasks.forecast.config import PriceValidationConfig

    assert key_value("out/work/ingest/abc/prices.parquet", "out") == "<output>/work/ingest/abc/prices.parquet"
    assert key_value("out2/x", "out") == "out2/x"
    assert key_value({"v": PriceValidationConfig()}, "out") == {"v": PriceValidationConfig().model_dump(mode="json")}


@pytest.fixture
def project_copy(tmp_path):
    """The project's code in a temporary folder, to be edited."""
    copy = tmp_path / "project"
    for name in ("tasks", "lstm_models"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def run_stages(project: Path, api_url: str, data: Path, output: Path) -> dict:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PYTHONPATH": str(project)}
    proc = subprocess.run([sys.executable, "-c", STAGES, str(data), str(output)], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_editing_a_helper_on_the_stage_path_reruns_it_and_an_unrelated_edit_keeps_the_hit(
        prefect_api, project_copy, tmp_path):
    data, output = tmp_path / "SBUX.csv", tmp_path / "out"
    shutil.copy(REPO / "data" / "SBUX.csv", data)
    assert run_stages(project_copy, prefect_api, data, output) == {"ingest": False, "validate": False, "tickers": ["SBUX"]}
    assert run_stages(project_copy, prefect_api, data, output)["ingest"] is True

    # an edit to another pipeline's module: both stages stay cache hits
    edit(project_copy / "tasks" / "sentiment" / "tokenize.py", "SPLITS = (", "# an unrelated edit\nSPLITS = (")
    again = run_stages(project_copy, prefect_api, data, output)
    assert (again["ingest"], again["validate"]) == (True, True)

    # a helper the ingest task reaches only through read_prices -> read_price_file: the stage runs
    # again (its old result would be stale), and validation, downstream of its output, runs too
    edit(project_copy / "tasks" / "forecast" / "prices.py", "def ticker_from_name(path: str | Path) -> str:\n",
         "def ticker_from_name(path: str | Path) -> str:\n    return 'EDITED'\n")
    edited = run_stages(project_copy, prefect_api, data, output)
    assert edited == {"ingest": False, "validate": False, "tickers": ["EDITED"]}


def test_a_flow_runs_execution_is_scoped_to_it():
    from tasks.shared.runners import active_runner, execution, shared_cache

    with execution(shared_cache="memory://cache/"):
        assert shared_cache() == "memory://cache" and active_runner() is None
        with pytest.raises(RuntimeError), execution(shared_cache="memory://other"):
            assert shared_cache() == "memory://other"
            raise RuntimeError("a failed flow run")
        assert shared_cache() == "memory://cache"  # the failed inner run's setting did not stay
    assert shared_cache() is None  # nothing leaks into the next flow run of this process
