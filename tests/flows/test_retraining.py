"""Scheduled retraining as a user sees it, run after run on one registry: an unchanged re-run is
all cache hits and keeps the champion; a worse config is not promoted, with reasons; rows
appended to the input re-tokenize only the shards they touch."""
import json

import pytest

from flows.config import SentimentConfig
from flows.sentiment import sentiment_training
from tasks.shared.registry import Registry

pytestmark = pytest.mark.slow
# the lenient gate (majority class): on 2,000 reviews a small LSTM loses to TF-IDF + LR, and this test
# is about the champion's life across nights (the strict default is tested in tests/cli)
GOOD = {"preprocess": {"seq_len": 80, "processes": 1, "shard_rows": 500},
        "model": {"embedding_dim": 32, "hidden_size": 32}, "train": {"epochs": 4, "patience": 4},
        "validation": {"min_rows_per_class": 5}, "gate": {"baseline": "naive"}}
WORSE = {**GOOD, "model": {"embedding_dim": 2, "hidden_size": 2}, "train": {"epochs": 1, "lr": 1e-5}}


def test_nightly_runs_keep_promote_and_reuse(prefect_api, tmp_path, review_lines):
    data, out = tmp_path / "reviews.ft.txt", tmp_path / "out"
    data.write_text("\n".join(review_lines[:2000]) + "\n")
    run = lambda cfg: sentiment_training(data=str(data), config=SentimentConfig.model_validate(cfg),  # noqa: E731
                                         output=str(out))
    reg = Registry(out / "registry")

    first = run(GOOD)
    assert first["promoted"] and first["champion"] == first["version"] == "v0001", first["gate"]

    second = run(GOOD)
    assert second["cached"] == ["ingest", "validate", "tokenize", "profile", "train", "baseline", "evaluate"]
    assert second["version"] == "v0001" and not second["promoted"] and second["champion"] == "v0001"
    assert any("already the champion" in r for r in second["gate"])
    assert second["drift"] == {"flagged": False, "checks": [], "against": "v0001"}

    third = run(WORSE)
    assert third["version"] == "v0002" and not third["promoted"] and reg.champion("sentiment")["version"] == "v0001"
    assert any(r.startswith("does not beat champion v0001") for r in third["gate"]), third["gate"]
    decisions = sorted((out / "registry" / "sentiment" / "decisions").iterdir())
    assert json.loads(decisions[-1].read_text())["candidate"] == "v0002"

    with data.open("a") as fh:  # the next day's reviews arrive
        fh.write("\n".join(review_lines[2000:2300]) + "\n")
    fourth = run(GOOD)
    assert fourth["cached"] == [] and fourth["rows"]["read"] == 2300
    stats = [json.loads(p.read_text()) for p in (out / "work" / "token-shards").glob("*/counts.json")]
    assert len(stats) == 5  # 4 shards of day one + 1 new shard (rows 2000-2299); none re-tokenized
    lineage = json.loads((reg.local_path("sentiment", fourth["version"]) / "lineage.json").read_text())
    assert lineage["rows"]["read"] == 2300 and lineage["config"]["model"]["hidden_size"] == 32
    assert "vocabulary is rebuilt" in (reg.local_path("sentiment", fourth["version"]) / "model_card.md").read_text()
