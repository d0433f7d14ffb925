"""The same flows on a two-worker local Dask cluster (`runner="dask"`, prefect-dask's
DaskTaskRunner) as on the default runner: byte-identical stage outputs, the same metrics, and
the per-file and per-shard work visible as task runs of the flow run. (Byte-identical up to the
output folder's own path, which the validation report records in its link to the Data Docs.)"""
import gzip
from pathlib import Path

import pandas as pd
import pytest

from flows.config import ForecastConfig, SentimentConfig
from flows.forecast import forecast_training
from flows.predict import batch_prediction
from flows.sentiment import sentiment_training
from tasks.shared.errors import ConfigError
from tasks.shared.runners import execution

pytestmark = pytest.mark.slow
HISTORY = Path(__file__).resolve().parents[3] / "shared" / "data" / "stocks" / "history"
FORECAST = {"prepare": {"lookback": 10, "horizon": 3}, "model": {"hidden_size": 8, "fc_size": 16},
            "train": {"epochs": 2, "batch_size": 64, "patience": 2, "min_samples": 1}, "evaluate": {"max_plots": 2}}
SENTIMENT = {"preprocess": {"seq_len": 60, "processes": 1, "shard_rows": 150},
             "model": {"embedding_dim": 8, "hidden_size": 8}, "train": {"epochs": 1},
             "validation": {"min_rows_per_class": 5}}


def task_run_names(flow_run_id) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200)
    return [r.name for r in runs]


def stage_files(root: Path, stage: str) -> list[Path]:
    """A stage's files, less the GX Data Docs site (its pages are named by the validation's time)."""
    return sorted(p.relative_to(root) for p in (root / "work" / stage).rglob("*")
                  if p.is_file() and "data_docs" not in p.parts)


def assert_same_stage_files(a: Path, b: Path, stages: list[str]) -> None:
    for stage in stages:
        left, right = stage_files(a, stage), stage_files(b, stage)
        assert left and left == right, stage
        for rel in left:  # the validation report names its own Data Docs page, under its output folder
            assert (a / rel).read_bytes().replace(str(a).encode(), b"<output>") == \
                (b / rel).read_bytes().replace(str(b).encode(), b"<output>"), rel


def run(flow, **kwargs):
    state = flow(return_state=True, **kwargs)
    return state.result(), state.state_details.flow_run_id


def test_forecast_files_on_dask_give_the_same_outputs_and_metrics(prefect_api, tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    for ticker in ("AAPL", "KO", "MSFT"):
        with gzip.open(HISTORY / f"{ticker}.csv.gz", "rt") as fh:
            (folder / f"{ticker}.csv").write_text("".join(line for _, line in zip(range(401), fh)))
    cfg = ForecastConfig.model_validate(FORECAST)
    local, _ = run(forecast_training, data=str(folder), config=cfg, output=str(tmp_path / "local"))
    dask, flow_run_id = run(forecast_training, data=str(folder), config=cfg, output=str(tmp_path / "dask"),
                            runner="dask", workers=2)
    assert dask["metrics"] == local["metrics"] and dask["baselines"] == local["baselines"]
    assert_same_stage_files(tmp_path / "local", tmp_path / "dask", ["ingest", "validate", "combine", "prepare"])
    names = task_run_names(flow_run_id)
    assert sum(n.startswith("ingest-prices") for n in names) == 3
    assert sum(n.startswith("validate-prices") for n in names) == 3


def test_sentiment_shards_and_prediction_chunks_on_dask_give_the_same_outputs(prefect_api, tmp_path, review_lines):
    data = tmp_path / "reviews.ft.txt"
    data.write_text("\n".join(review_lines[:600]) + "\n")
    cfg = SentimentConfig.model_validate(SENTIMENT)
    local, _ = run(sentiment_training, data=str(data), config=cfg, output=str(tmp_path / "local"), force=True)
    dask, flow_run_id = run(sentiment_training, data=str(data), config=cfg, output=str(tmp_path / "dask"),
                            runner="dask", workers=2, force=True)
    assert dask["metrics"] == local["metrics"] and dask["baseline"] == local["baseline"]
    assert_same_stage_files(tmp_path / "local", tmp_path / "dask", ["ingest", "validate", "tokenize"])
    names = task_run_names(flow_run_id)
    assert sum(n.startswith("tokenize-shard") for n in names) == 4  # 600 rows in shards of 150
    assert sum(n.startswith("encode-shard") for n in names) == 4

    texts = tmp_path / "new.txt"
    texts.write_text("\n".join(line.split(" ", 1)[1] for line in review_lines[1000:5500]) + "\n")
    registry = str(tmp_path / "local" / "registry")
    one = batch_prediction(kind="sentiment", data=str(texts), registry=registry, output=str(tmp_path / "p1"))
    two, flow_run_id = run(batch_prediction, kind="sentiment", data=str(texts), registry=registry,
                           output=str(tmp_path / "p2"), runner="dask", workers=2)
    pd.testing.assert_frame_equal(pd.read_parquet(one["predictions"]), pd.read_parquet(two["predictions"]))
    assert sum(n.startswith("score-texts") for n in task_run_names(flow_run_id)) == 3  # 4,500 lines in chunks of 2,000


def test_an_unknown_runner_is_refused_by_the_flows_schema_and_by_the_runner(prefect_api, tmp_path):
    from prefect.exceptions import ParameterTypeError

    with pytest.raises(ParameterTypeError, match="runner: String should match pattern"):
        forecast_training(data="data/SBUX.csv", output=str(tmp_path), runner="spark")  # before the run starts
    for flow in (sentiment_training, batch_prediction):
        with pytest.raises(ParameterTypeError, match="runner"):
            flow.validate_parameters({"runner": "spark"})
        assert flow.validate_parameters({"runner": "tcp://10.0.0.5:8786"})["runner"] == "tcp://10.0.0.5:8786"
    with pytest.raises(ConfigError, match="runner: expected local, dask, processes or tcp://HOST:PORT, got 'spark'"):
        execution("spark").__enter__()  # what code that calls the runners directly gets


def test_every_flow_parameter_is_explained_in_the_run_form():
    from prefect.utilities.callables import parameter_schema

    from flows.search import sentiment_search
    from flows.sequence import sequence_training

    for flow in (sentiment_training, forecast_training, batch_prediction, sentiment_search, sequence_training):
        properties = parameter_schema(flow).model_dump()["properties"]
        assert {name for name, p in properties.items() if not p.get("description")} == set(), flow.name
    assert "fine-tune" in parameter_schema(forecast_training).model_dump()["properties"]["init_from"]["description"]
