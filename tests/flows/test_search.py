"""The sentiment search flow against a real Prefect API and a real Optuna study (SQLite): trials
scored on validation only, a best config that loads and retrains, pruning, and resuming."""
import pytest
import yaml

from flows.config import SentimentConfig, load_config
from flows.search import sentiment_search

pytestmark = pytest.mark.slow
TINY = {"preprocess": {"seq_len": 60, "processes": 1}, "train": {"epochs": 2, "patience": 2},
        "validation": {"min_rows_per_class": 5}}


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, review_lines):
    path = tmp_path_factory.mktemp("data") / "reviews.ft.txt"
    path.write_text("\n".join(review_lines[:400]) + "\n")
    return path


@pytest.fixture(scope="module")
def search(prefect_api, reviews, tmp_path_factory):
    out = tmp_path_factory.mktemp("search")
    return out, sentiment_search(data=str(reviews), config=SentimentConfig.model_validate(TINY), output=str(out), trials=3)


def test_a_search_runs_its_trials_and_writes_a_best_config_that_retraining_loads(search):
    out, summary = search
    assert sum(summary["trials"].values()) == 3 and summary["trials"]["complete"] >= 1
    assert summary["default"]["trial"] == 0  # the config as given is trial 0: "best vs default" in one study
    assert summary["best"]["val_loss"] <= summary["default"]["val_loss"]
    cfg = load_config(SentimentConfig, summary["best_config"], "sentiment")
    assert cfg.model.model_dump() == summary["best"]["model"]
    assert cfg.train.epochs == 2 and cfg.preprocess.seq_len == 60  # the base config's own settings kept
    assert yaml.safe_load(open(summary["best_config"]))["name"].endswith("-search-best")


def test_an_interrupted_study_resumes_running_only_the_missing_trials(search, reviews):
    import optuna
    from optuna.trial import TrialState

    out, _ = search
    storage = f"sqlite:///{out / 'search' / 'sentiment-search.db'}"
    killed = optuna.load_study(study_name="sentiment-search", storage=storage).ask()  # a trial a killed run left
    summary = sentiment_search(data=str(reviews), config=SentimentConfig.model_validate(TINY), output=str(out), trials=4)
    trials = optuna.load_study(study_name="sentiment-search", storage=storage).get_trials()
    assert trials[killed.number].state == TrialState.FAIL
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 4
    assert len(trials) == 5  # 3 earlier + the killed one + 1 new: nothing finished was re-run
    assert summary["default"]["trial"] == 0


def test_a_poor_trial_is_pruned_after_its_warm_up(search):
    import optuna

    from tasks.sentiment.search import run_trial, trial_config
    from tasks.sentiment.sizing import DataShape

    out, _ = search
    tokens = next((out / "work" / "tokenize").glob("*/tokens.parquet"))
    cfg = trial_config(SentimentConfig.model_validate({**TINY, "train": {"epochs": 4, "patience": 4}}),
                       {"embedding_dim": 8, "hidden_size": 8}, DataShape(300, 60, 1000))
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0, n_warmup_steps=2))  # any loss is poor
    trial = study.ask()
    vocab = len(__import__("json").loads((tokens.parent / "vocab.json").read_text())["itos"])
    with pytest.raises(optuna.TrialPruned, match="after epoch 2"):
        run_trial(trial, cfg, str(tokens), vocab)
    assert sorted(trial.storage.get_trial(trial._trial_id).intermediate_values) == [1, 2]


def test_the_cli_resumes_the_study_and_prints_its_best_config(search, reviews, prefect_api, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    out, _ = search
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "sentiment", "search", "--data", str(reviews), "--config",
                           str(cfg), "--output", str(out), "--trials", "1", "--json"], capture_output=True, text=True,
                          env={**os.environ, "PREFECT_API_URL": prefect_api}, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sum(summary["trials"].values()) >= 3  # the study as the earlier tests left it: no trial re-run
    assert Path(summary["best_config"]).is_file() and "best" in proc.stdout
