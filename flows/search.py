"""Sentiment hyper-parameter search: the training flow's data stages (cached, shared with it),
then N Optuna trials, each a task run in the Prefect UI, scored on the validation split only.

Publishes the trials as a table artifact and the best config as an artifact and a config file
that `lstm-pipeline sentiment train --config <file>` retrains with. Re-running the flow with the
same output and study name resumes the study (tasks/sentiment/search.py).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import yaml
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from tasks.sentiment.config import SentimentConfig
from tasks.sentiment.search import finished, open_study, run_trial, suggest, trial_config, trials_table
from tasks.shared.runners import execution

from .common import SEARCH_TIMEOUT_S, run_inputs, run_name
from .sentiment import DEFAULT_DATA, data_shape, prepare_reviews


@task(name="search-trial", cache_policy=NO_CACHE)
def trial_task(study, trial, cfg: SentimentConfig, tokens: str, vocab_size: int, default: bool) -> dict:
    """Train and score one trial, and tell the study how it ended (complete, pruned or failed)."""
    import optuna
    from optuna.trial import TrialState

    log = get_run_logger()
    trial.set_user_attr("default", default)
    trial.set_user_attr("config", {"model": cfg.model.model_dump(), "train": cfg.train.model_dump()})
    t0 = time.perf_counter()
    try:
        scores = run_trial(trial, cfg, tokens, vocab_size)
    except optuna.TrialPruned as pruned:
        trial.set_user_attr("seconds", round(time.perf_counter() - t0, 1))
        study.tell(trial, state=TrialState.PRUNED)
        log.info("trial %d pruned: %s", trial.number, pruned)
        return {"trial": trial.number, "state": "pruned"}
    except Exception:
        study.tell(trial, state=TrialState.FAIL)
        raise
    for k in ("val_accuracy", "seconds", "epochs_run", "best_epoch"):
        trial.set_user_attr(k, scores[k])
    study.tell(trial, scores["val_loss"])
    log.info("trial %d: validation loss %.4f, accuracy %.4f (%s s)", trial.number, scores["val_loss"],
             scores["val_accuracy"], scores["seconds"])
    return {"trial": trial.number, "state": "complete", **scores}


def best_config_file(base: SentimentConfig, best, path: Path) -> SentimentConfig:
    """The base config with the best trial's model and training settings, written as YAML."""
    chosen = best.user_attrs["config"]
    cfg = SentimentConfig.model_validate({**base.model_dump(), "name": f"{base.name}-search-best",
                                          "model": chosen["model"], "train": chosen["train"]})
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Best of an Optuna search on the validation split (trial {best.number}: validation loss "
              f"{best.value:.4f}, accuracy {best.user_attrs.get('val_accuracy')}).\n"
              f"# Retrain with: lstm-pipeline sentiment train --data <reviews> --config {path}\n")
    path.write_text(header + yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    return cfg


def _brief(t) -> dict | None:
    if t is None:
        return None
    return {"trial": t.number, "val_loss": round(t.value, 4), "val_accuracy": t.user_attrs.get("val_accuracy"),
            "seconds": t.user_attrs.get("seconds"), "model": t.user_attrs["config"]["model"],
            "train": {k: t.user_attrs["config"]["train"][k] for k in ("batch_size", "lr", "epochs", "patience")}}


@flow(name="sentiment-search", flow_run_name=run_name("search"), timeout_seconds=SEARCH_TIMEOUT_S)
def sentiment_search(
    data: str = DEFAULT_DATA, config: SentimentConfig = SentimentConfig(), output: str = "outputs/sentiment",
    trials: int = 20, study: str = "sentiment-search", seed: int = 13, timeout_minutes: float | None = None,
) -> dict:
    """Search the sentiment model's settings with Optuna on the validation split.

    Args:
        data: Reviews, as for sentiment-training.
        config: The pipeline's settings; each trial changes the model and training sections.
        output: Folder for stage outputs and the study (`<output>/search/`).
        trials: Finished trials the study should have (a resumed study runs only the missing ones).
        study: The study's name (the SQLite file `<output>/search/<study>.db`).
        seed: The sampler's seed.
        timeout_minutes: Start no new trial after this long (the running one finishes).
    """
    with execution(shared_cache=config.cache.shared):
        return _sentiment_search(data, config, output, trials, study, seed, timeout_minutes)


def _sentiment_search(data: str, config: SentimentConfig, output: str, trials: int, study: str, seed: int,
                      timeout_minutes: float | None) -> dict:
    log = get_run_logger()
    data, _ = run_inputs(data, output, None)
    t0 = time.perf_counter()
    _, _, _, tokens = prepare_reviews(data, config, output)
    tok = tokens.result
    shape = data_shape(tok)
    storage = Path(output) / "search" / f"{study}.db"
    st = open_study(storage, study, seed)
    done = finished(st)
    todo = max(0, trials - len(done))
    log.info("study %s: %d trials finished, %d to run (storage %s)", study, len(done), todo, storage)
    has_default = any(t.user_attrs.get("default") for t in done)
    for _ in range(todo):
        if timeout_minutes is not None and time.perf_counter() - t0 > 60 * timeout_minutes:
            log.info("time budget of %s minutes spent: no new trial", timeout_minutes)
            break
        trial = st.ask()
        default = not has_default
        cfg = trial_config(config, {} if default else suggest(trial), shape)
        trial_task.with_options(task_run_name=f"trial-{trial.number}" + ("-default" if default else ""))(
            st, trial, cfg, tok.tokens, tok.vocab_size, default)
        has_default = True

    table = trials_table(st)
    create_table_artifact(key="sentiment-search-trials", table=table,
                          description=f"Optuna study {study}: every trial, scored on the validation split")
    complete = [t for t in finished(st) if t.value is not None]
    if not complete:
        raise RuntimeError(f"study {study}: no trial completed")
    best = min(complete, key=lambda t: t.value)
    default_trial = next((t for t in complete if t.user_attrs.get("default")), None)
    best_path = Path(output) / "search" / f"{study}-best.yaml"
    best_config_file(config, best, best_path)
    summary = {
        "study": study, "storage": str(storage), "best_config": str(best_path),
        "trials": {s: sum(r["state"] == s for r in table) for s in ("complete", "pruned", "fail")},
        "best": _brief(best), "default": _brief(default_trial),
        "train_rows": shape.train_rows, "val_rows": tok.splits["val"], "seconds": round(time.perf_counter() - t0, 2),
    }
    create_markdown_artifact(key="sentiment-search-best", description="The search's best config against the default",
                             markdown=search_markdown(summary))
    log.info("best trial %d: validation loss %.4f; default (trial %s) %s; config %s", best.number, best.value,
             summary["default"] and summary["default"]["trial"], summary["default"] and summary["default"]["val_loss"],
             best_path)
    return summary


def search_markdown(summary: dict) -> str:
    rows = [("best", summary["best"]), ("default (the config's rules)", summary["default"])]
    table = "\n".join(f"| {name} | {r['trial']} | {r['val_loss']} | {r['val_accuracy']:.4f} | {r['seconds']} | "
                      f"`{json.dumps(r['model'])}` `{json.dumps(r['train'])}` |" for name, r in rows if r)
    return (f"# Sentiment search: {summary['study']}\n\nValidation split only ({summary['val_rows']} reviews; "
            f"trained on {summary['train_rows']}). Trials: {summary['trials']}.\n\n"
            "| | trial | val loss | val accuracy | seconds | settings |\n|---|---|---|---|---|---|\n"
            f"{table}\n\nBest config file: `{summary['best_config']}` "
            "(`lstm-pipeline sentiment train --config` it to retrain with it).\n")
