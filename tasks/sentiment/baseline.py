"""The bag-of-words baseline every LSTM is compared with: TF-IDF (word 1..n-grams) + logistic
regression, fit on the training split and scored on the test split the LSTM is scored on."""
from __future__ import annotations

from tasks.shared.caching import cached_task, write_stage_json

from .config import BaselineConfig
from .evaluate import classification_metrics
from .tokenize import split_texts


def train_baseline(valid: str, tokens: str, baseline: BaselineConfig) -> dict:
    """TF-IDF (word 1..n-grams) + logistic regression, fit on train, scored on test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    df = split_texts(valid, tokens)
    train, test = df[df["split"] == "train"], df[df["split"] == "test"]
    pipe = make_pipeline(
        TfidfVectorizer(max_features=baseline.max_features, ngram_range=(1, baseline.ngram_max),
                        sublinear_tf=True, min_df=2),
        LogisticRegression(C=baseline.C, max_iter=2000),
    )
    pipe.fit(train["text"], train["label"])
    prob = pipe.predict_proba(test["text"])[:, 1]
    return classification_metrics(test["label"].to_numpy(), prob, lengths=test["length"].to_numpy())


@cached_task(name="train-baseline", stage="baseline")
def train_baseline_task(valid: str, tokens: str, baseline: BaselineConfig, out_dir: str) -> dict:
    metrics = train_baseline(valid, tokens, baseline)
    write_stage_json(out_dir, "baseline.json", metrics)
    return metrics
