"""Model size and training length that follow the training split: its size and its text lengths.

A setting left empty (None) in the config is chosen here from the data, by the rules below; a
setting given in the config is kept as it is. The rules were chosen on validation splits of
sets built from the bundled reviews (full, subsets of 2,000 and 4,000, first sentences, titles;
docs/decisions/sentiment-research.md, sentiment-defaults.md, benchmarks/RESULTS.md), never on a test split:

- batch size: 32 under 4,000 training texts (small sets need the updates: at 64 they stopped
  improving after epoch 5), 64 up to 100,000, 128 beyond (extrapolated: keeps an epoch's
  updates in hand on millions of rows);
- training length: until validation stops improving (early stopping, best weights kept), at most
  30 passes (`train.epochs`) and `train.max_minutes` if set. Validation once an epoch, or four
  times an epoch where an epoch is more than 500 updates (a large set stops near its best point,
  not up to an epoch later); patience 4 validations, 8 at four an epoch (two epochs). Until
  issue 19 a budget of about 1,500 updates ended training on large sets while validation still
  improved (23.6 k sentences: validation loss 0.241 -> 0.233 at the last of 5 epochs);
- model and learning rate, by the kind of data:
  * long texts (median >= 40 tokens), 4,000 to 20,000 of them: hidden 64, dropout 0.5, learning
    rate 5e-3 (with the default GloVe vectors, over three seeds: +1.3 points of validation
    accuracy on the bundled 5,173, +0.3 on 8,000 hotel reviews; docs/decisions/sentiment-defaults.md);
  * long texts, under 4,000: embedding 128, hidden 32, dropout 0.1, learning rate 5e-3. An
    Optuna search on the bundled sample found it; on the validation splits of the 2,000 / 4,000 /
    6,500-review sets (two seeds each) it beat the 128/128, dropout 0.5, lr 2e-3 model by 10, 2
    and 0.6 points, in a quarter to a fifth of the time (with GloVe, the hidden 64, dropout 0.5
    model lost 1.5 points on the 2,000-review set);
  * a large set (>= 20,000 texts): embedding 128, hidden 128, dropout 0.5, lr 2e-3 (on 23,600
    one-line sentences the higher learning rate lost about 1 point of validation accuracy);
  * short texts in a smaller set: embedding 64, hidden 64, dropout 0.3, lr 2e-3 (on 5,000
    title + first-sentence texts, lr 5e-3 lost 2 points and the long-text model 5; on titles
    alone both gained 1 to 2, within the noise; at 64 units dropout 0.5 underfits).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from tasks.shared.errors import ConfigError

from .config import ClassifierConfig, SentimentTrainSettings

LONG_TEXT_TOKENS = 40
LARGE_SET = 20_000
MID_SET = 4_000  # long texts from here: a wider, more regularised model (issue 19, part 2)
MAX_EPOCHS = 30
LONG_EPOCH_UPDATES = 500  # above this many updates an epoch, validate four times an epoch


@dataclass(frozen=True)
class DataShape:
    """What the rules read: training texts, their median length in tokens, the vocabulary."""

    train_rows: int
    median_tokens: float
    vocab_size: int


def choose_batch_size(n: int) -> int:
    return 32 if n < 4_000 else 64 if n < 100_000 else 128


def choose_eval_every(n: int, batch_size: int) -> int | None:
    """Updates between validations: None (once an epoch) unless an epoch is long."""
    updates_per_epoch = math.ceil(max(n, 1) / batch_size)
    return math.ceil(updates_per_epoch / 4) if updates_per_epoch > LONG_EPOCH_UPDATES else None


def choose_model(shape: DataShape) -> tuple[str, dict]:
    """The model's size, dropout and learning rate for this kind of data, and why."""
    if shape.train_rows >= LARGE_SET:
        return "a large set", {"embedding_dim": 128, "hidden_size": 128, "dropout": 0.5, "lr": 2e-3}
    if shape.median_tokens >= LONG_TEXT_TOKENS and shape.train_rows >= MID_SET:
        return "long texts, a mid-sized set", {"embedding_dim": 128, "hidden_size": 64, "dropout": 0.5, "lr": 5e-3}
    if shape.median_tokens >= LONG_TEXT_TOKENS:
        return "long texts, a small set", {"embedding_dim": 128, "hidden_size": 32, "dropout": 0.1, "lr": 5e-3}
    return "short texts, a smaller set", {"embedding_dim": 64, "hidden_size": 64, "dropout": 0.3, "lr": 2e-3}


def resolve(model: ClassifierConfig, train: SentimentTrainSettings, shape: DataShape, vectors_dim: int | None = None
            ) -> tuple[ClassifierConfig, SentimentTrainSettings, dict]:
    """Concrete model and training settings: the config's own values, the rules' where it left
    one empty. Also returns {setting: (value, "config" or the rule's reason)} for the run's record.
    vectors_dim: the dimension of the pretrained word vectors, if any (the embedding must match)."""
    chosen: dict[str, tuple] = {}
    if vectors_dim is not None:
        if model.embedding_dim not in (None, vectors_dim):
            raise ConfigError(f"model.embedding_dim is {model.embedding_dim} but the word vectors have "
                             f"{vectors_dim} dimensions: leave embedding_dim out or set it to {vectors_dim}")
        model = model.model_copy(update={"embedding_dim": vectors_dim})

    def pick(name, given, rule_value, why):
        value = given if given is not None else rule_value
        chosen[name] = (value, "config" if given is not None else why)
        return value

    kind, rule = choose_model(shape)
    why = f"{kind}: {shape.train_rows} training texts, median {shape.median_tokens:g} tokens"
    m = {k: pick(k, getattr(model, k), rule[k], why) for k in ("embedding_dim", "hidden_size", "dropout")}
    if vectors_dim is not None:
        chosen["embedding_dim"] = (vectors_dim, "the word vectors' dimension")
    lr = pick("lr", train.lr, rule["lr"], why)
    bs = pick("batch_size", train.batch_size, choose_batch_size(shape.train_rows),
              f"{shape.train_rows} training texts")
    epochs = pick("epochs", train.epochs, MAX_EPOCHS, "a cap: early stopping on validation ends training")
    every = pick("eval_every_steps", train.eval_every_steps, choose_eval_every(shape.train_rows, bs),
                 f"{math.ceil(shape.train_rows / bs)} updates an epoch (four validations an epoch above "
                 f"{LONG_EPOCH_UPDATES})")
    patience = pick("patience", train.patience, 4 if every is None else 8,
                    "4 validations" if every is None else "8 validations (two epochs)")
    resolved_model = model.model_copy(update=m)
    resolved_train = SentimentTrainSettings(**{**train.model_dump(), "lr": lr, "batch_size": bs, "epochs": epochs,
                                                           "patience": patience, "eval_every_steps": every})
    return resolved_model, resolved_train, {"data": asdict(shape), "settings": chosen}


def publish_settings(record: dict) -> None:
    """The chosen settings as a table artifact: value and where it came from (config or rule)."""
    from prefect.artifacts import create_table_artifact

    rows = [{"setting": k, "value": v, "from": why} for k, (v, why) in record["settings"].items()]
    create_table_artifact(key="sentiment-settings", table=rows,
                          description="Model size and training length: the config's, or chosen from the training split")
