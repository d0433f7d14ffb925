"""Hyper-parameter search for the sentiment classifier with Optuna, scored on the validation split
only (the test split stays untouched for the final run).

A study lives in an SQLite file under the output folder, so an interrupted search resumes: the
trials it finished are kept, a trial that was running when the process died is marked failed,
and only the missing trials run. Trial 0 of a new study is the config as given (with the
data-following rules of sizing.py), so "best against the default" is measured in one study.
Poor trials are pruned: after each epoch a trial reports its validation loss and stops when
the median pruner finds it worse than the median of earlier trials at that epoch.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from lstm_models.training import fit, predict

from .config import SentimentConfig
from .sizing import DataShape, resolve
from .train import bce, build_classifier, load_split, start_embedding, vectors_dim, vectors_for

SPACE = {  # categorical choices and ranges; everything else comes from the config
    "embedding_dim": [32, 64, 128, 256],
    "hidden_size": [32, 64, 128, 256],
    "num_layers": [1, 2],
    "bidirectional": [True, False],
    "pooling": ["max", "mean", "last"],
    "cell": ["lstm", "gru"],
    "batch_size": [32, 64, 128],
}
MODEL_KEYS = ("embedding_dim", "hidden_size", "num_layers", "bidirectional", "dropout", "pooling", "cell")


def suggest(trial) -> dict:
    """One point of the search space."""
    params = {k: trial.suggest_categorical(k, v) for k, v in SPACE.items()}
    params["dropout"] = trial.suggest_float("dropout", 0.1, 0.6, step=0.1)
    params["lr"] = trial.suggest_float("lr", 5e-4, 5e-3, log=True)
    return params


def trial_config(base: SentimentConfig, params: dict, shape: DataShape) -> SentimentConfig:
    """The config a trial trains: its parameters over the base config; epochs and patience follow
    the data for the trial's batch size (sizing.py) unless the base config fixes them. With word
    vectors the embedding is theirs (its size is not searched)."""
    vectors = vectors_for(base.model, base.vectors)
    dim = vectors_dim(vectors)
    keys = [k for k in MODEL_KEYS if k in params and not (dim and k == "embedding_dim")]
    model = base.model.model_copy(update={k: params[k] for k in keys})
    train = base.train.model_copy(update={k: params[k] for k in ("lr", "batch_size") if k in params})
    model, train, _ = resolve(model, train, shape, dim)
    return base.model_copy(update={"model": model, "train": train, "vectors": vectors})


def run_trial(trial, cfg: SentimentConfig, tokens: str, vocab_size: int) -> dict:
    """Train one trial's model; prune it (optuna.TrialPruned) when its validation loss after an
    epoch is worse than the pruner allows. Returns validation loss and accuracy."""
    import optuna

    train, val = load_split(tokens, "train"), load_split(tokens, "val")
    torch.manual_seed(cfg.train.seed)
    model = build_classifier(vocab_size, cfg.model)
    if cfg.vectors.enabled:  # as the training stage starts it
        start_embedding(model, str(Path(tokens).parent / "vocab.json"), cfg.vectors, cfg.train.seed)

    def report(record: dict) -> None:
        step = int(round(record["epoch"]))
        trial.report(record["val_loss"], step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"validation loss {record['val_loss']:.4f} after epoch {step}")

    t0 = time.perf_counter()
    result = fit(model, train, val, bce, cfg.train.loop_config(), progress=False, on_eval=report)
    model.load_state_dict(result.state_dict)
    prob = torch.sigmoid(predict(model, val, device=torch.device("cpu")))
    accuracy = float(((prob >= 0.5).float() == val.y).float().mean())
    return {"val_loss": float(result.best_val_loss), "val_accuracy": accuracy, "best_epoch": result.best_epoch,
            "epochs_run": len(result.history), "seconds": round(time.perf_counter() - t0, 1)}


def open_study(storage_path: Path, name: str, seed: int, startup_trials: int = 4, warmup_epochs: int = 2):
    """The study (created or resumed) and the number of its finished trials. Trials left running
    by a killed process are marked failed, so they neither block nor count."""
    import optuna
    from optuna.trial import TrialState

    storage_path.parent.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=name, storage=f"sqlite:///{storage_path}", load_if_exists=True, direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs))
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(t.number, state=TrialState.FAIL)
    return study


def finished(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def trials_table(study) -> list[dict]:
    """One row a trial: how it ended, its validation scores and the settings it trained with
    (trial 0's are the config's own, rules applied)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        cfg = t.user_attrs.get("config", {"model": {}, "train": {}})
        settings = {**{k: cfg["model"].get(k, t.params.get(k)) for k in MODEL_KEYS},
                    **{k: cfg["train"].get(k, t.params.get(k)) for k in ("batch_size", "lr", "epochs")}}
        rows.append({"trial": t.number, "state": t.state.name.lower(),
                     "val_loss": round(t.value, 4) if t.value is not None else None,
                     "val_accuracy": t.user_attrs.get("val_accuracy"),
                     "epochs_run": t.user_attrs.get("epochs_run", len(t.intermediate_values)),
                     "seconds": t.user_attrs.get("seconds"),
                     **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in settings.items()}})
    return rows
