"""The sentiment flow end to end on a small slice of real reviews, against a real Prefect API."""
import asyncio
import json
import shutil

import numpy as np
import pytest

from flows.config import SentimentConfig
from flows.sentiment import sentiment_training
from lstm_models.predict import SentimentPredictor
from tasks.shared.errors import DataError

pytestmark = pytest.mark.slow  # every test here trains a model (or runs a flow that does)

SMALL = {
    "preprocess": {"seq_len": 60, "min_count": 2, "processes": 1},
    "model": {"embedding_dim": 16, "hidden_size": 16},
    "train": {"epochs": 2, "batch_size": 64},
    "validation": {"min_rows_per_class": 5},
}
EXPENSIVE = ["ingest", "validate", "tokenize", "profile", "train", "baseline", "evaluate"]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory, review_lines):
    path = tmp_path_factory.mktemp("data") / "reviews.ft.txt"
    path.write_text("\n".join(review_lines[:500] + ["__label__3 not a valid label", "no label here"]) + "\n")
    return path


@pytest.fixture(scope="module")
def first_run(prefect_api, small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return out, sentiment_training(data=str(small_data), config=SentimentConfig.model_validate(SMALL), output=str(out))


def test_cold_run_publishes_a_bundle_with_metrics_and_reconciled_counts(first_run):
    out, summary = first_run
    assert summary["cached"] == []
    assert summary["rows"] == {"read": 502, "accepted": 500, "quarantined": 2}
    for block in ("metrics", "baseline"):
        assert set(summary[block]) >= {"accuracy", "f1", "roc_auc"}
        assert 0.5 <= summary[block]["roc_auc"] <= 1.0
    bundle = summary["bundle"]
    names = {p.split("/")[-1] for p in map(str, __import__("pathlib").Path(bundle).iterdir())}
    assert {"weights.safetensors", "config.json", "vocab.json", "metrics.json", "model_card.md",
            "loss_curves.png", "confusion_matrix.png"} <= names
    assert list((out / "work" / "train").iterdir()) and not list((out / "work" / "train").glob("*.ckpt"))
    card = (__import__("pathlib").Path(bundle) / "model_card.md").read_text()
    assert "quarantined 2" in card and "TF-IDF" in card


def test_quarantine_keeps_rejected_rows_with_reasons(first_run):
    import pandas as pd

    _, summary = first_run
    q = pd.read_parquet(summary["quarantine"])
    assert sorted(q["row"]) == [501, 502]
    assert set(q["reason"]) == {"label not in {1, 2}", "missing label"}


def test_bundle_round_trip_gives_the_evaluated_predictions(first_run):
    """predict() from the bundle alone reproduces the test-split metrics the flow reported."""
    import pyarrow.parquet as pq

    out, summary = first_run
    predictor = SentimentPredictor.load(summary["bundle"])
    tokens = next((out / "work" / "tokenize").iterdir()) / "tokens.parquet"
    valid = next((out / "work" / "validate").iterdir()) / "valid.parquet"
    t = pq.read_table(tokens).to_pandas().merge(pq.read_table(valid).to_pandas()[["row", "text"]], on="row")
    test = t[t["split"].astype(str) == "test"]
    labels, prob = predictor.predict(test["text"].tolist())
    accuracy = float(np.mean(labels == test["label"].to_numpy()))
    assert accuracy == pytest.approx(summary["metrics"]["accuracy"], abs=1e-9)
    assert ((prob >= 0) & (prob <= 1)).all()


def test_unchanged_rerun_is_all_cache_hits_and_a_renamed_file_still_hits(first_run, small_data, tmp_path):
    out, summary = first_run
    renamed = tmp_path / "same-content.txt"
    shutil.copyfile(small_data, renamed)
    again = sentiment_training(data=str(renamed), config=SentimentConfig.model_validate(SMALL), output=str(out))
    assert again["cached"] == EXPENSIVE
    assert again["metrics"] == summary["metrics"]
    # the same data, config and code give the same model: no new registry version
    assert again["version"] == summary["version"] and again["bundle"] == summary["bundle"]


def test_tokenization_change_reruns_only_what_depends_on_it(first_run, small_data):
    out, _ = first_run
    cfg = SentimentConfig.model_validate({**SMALL, "preprocess": {**SMALL["preprocess"], "min_count": 1}})
    summary = sentiment_training(data=str(small_data), config=cfg, output=str(out))
    assert summary["cached"] == ["ingest", "validate"]


def test_edited_data_misses_the_cache(first_run, small_data, tmp_path, review_lines):
    out, _ = first_run
    edited = tmp_path / "reviews.ft.txt"
    edited.write_text(small_data.read_text() + review_lines[600] + "\n")
    summary = sentiment_training(data=str(edited), config=SentimentConfig.model_validate(SMALL), output=str(out))
    assert summary["cached"] == []
    assert summary["rows"]["read"] == 503


def test_cache_hit_with_deleted_outputs_runs_again(first_run, small_data):
    out, _ = first_run
    shutil.rmtree(out / "work" / "tokenize")
    summary = sentiment_training(data=str(small_data), config=SentimentConfig.model_validate(SMALL), output=str(out))
    assert "tokenize" not in summary["cached"] and "ingest" in summary["cached"]
    assert summary["rows"]["accepted"] == 500


def test_a_second_host_copies_every_stage_from_the_shared_cache(prefect_api, small_data, tmp_path):
    """Two output folders stand for two hosts; cache.shared (a folder here, s3:// in
    tests/e2e/test_two_workers.py) carries the first one's completed stages to the second."""
    cfg = SentimentConfig.model_validate({**SMALL, "cache": {"shared": str(tmp_path / "shared")}})
    first = sentiment_training(data=str(small_data), config=cfg, output=str(tmp_path / "host-a"))
    assert first["cached"] == []
    shared = sorted(p.parent.relative_to(tmp_path / "shared") for p in (tmp_path / "shared").rglob("_result.json"))
    assert [p.parts[1] for p in shared] == sorted(EXPENSIVE + ["drift"])
    second = sentiment_training(data=str(small_data), config=cfg, output=str(tmp_path / "host-b"))
    assert second["cached"] == EXPENSIVE and second["metrics"] == first["metrics"]
    for stage in shared:  # the same files, and the result's paths point into host-b's own folder
        a, b = tmp_path / "host-a" / stage, tmp_path / "host-b" / stage
        assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
        assert all((a / p.name).read_bytes() == (b / p.name).read_bytes() for p in a.iterdir() if p.is_file()
                   and p.name != "_result.json")
    assert second["bundle"].startswith(str(tmp_path / "host-b"))


def test_unusable_batch_stops_before_training(prefect_api, tmp_path):
    bad = tmp_path / "unlabelled.txt"
    bad.write_text("great product\nterrible product\n")
    with pytest.raises(DataError, match="unlabelled.txt: batch rejected: all 2 rows were quarantined"):
        sentiment_training(data=str(bad), config=SentimentConfig.model_validate(SMALL), output=str(tmp_path / "out"))
    assert not (tmp_path / "out" / "work" / "train").exists()


def test_run_story_is_published_as_prefect_artifacts(first_run):
    """The UI's artifacts: validation table, metrics table, model card, bundle and plot links."""
    from prefect.client.orchestration import get_client

    keys = ["sentiment-validation", "sentiment-metrics", "sentiment-model-card", "sentiment-bundle",
            "sentiment-loss-curves", "sentiment-confusion-matrix", "sentiment-settings", "sentiment-length-slices"]
    async def read():
        # The REST endpoint directly: Prefect 3.8.8's client sends nulls its own server rejects (422).
        # One query a key, newest first: the session's other runs publish under the same keys.
        async with get_client() as client:
            return {key: (await client._client.post("/artifacts/filter", json={
                "artifacts": {"key": {"any_": [key]}}, "limit": 50, "offset": 0, "sort": "CREATED_DESC"})).json()
                for key in keys}

    by_key = {key: found for key, found in asyncio.run(read()).items() if found}
    assert set(keys) <= set(by_key)
    # the length slices (test texts by token count, LSTM next to TF-IDF + LR) add up to this run's test split;
    # the settings table says which came from the config and which from the data (other runs publish too)
    tables = lambda key: [json.loads(a["data"]) for a in by_key[key]]
    assert any(sum(r["test texts"] for r in t) == first_run[1]["splits"]["test"]
               and {"tokens", "lstm", "tfidf_logreg"} <= set(t[0]) for t in tables("sentiment-length-slices"))
    assert any({r["setting"]: r["from"] for r in t}["hidden_size"] == "config"
               and {r["setting"]: r["from"] for r in t}["dropout"] != "config" for t in tables("sentiment-settings"))
    assert all(a["type"] == "table" and "tfidf_logreg" in str(a["data"]) for a in by_key["sentiment-metrics"])
    assert all("Model card" in str(a["data"]) for a in by_key["sentiment-model-card"])
    # the plots travel inside the artifacts (a browser on another machine renders them), not as file:// links
    import base64
    for key in ("sentiment-loss-curves", "sentiment-confusion-matrix"):
        newest = by_key[key][0]
        assert newest["type"] == "image" and newest["data"].startswith("data:image/png;base64,")
        assert base64.b64decode(newest["data"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert any("read 502, accepted 500, quarantined 2" in a["description"] for a in by_key["sentiment-validation"])
