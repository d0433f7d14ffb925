"""Profile the reviews (stored in each bundle as profile.json) and compare them with the
champion's training data: the drift report of every run."""
from __future__ import annotations

import json
from pathlib import Path

from tasks.shared.caching import cached_task, write_stage_json
from tasks.shared.drift import champion_profile, text_drift, text_profile

from .tokenize import split_texts


@cached_task(name="profile-data", stage="profile")
def profile_reviews_task(valid: str, tokens: str, vocab: str, out_dir: str) -> str:
    df = split_texts(valid, tokens)
    vocab_json = json.loads(Path(vocab).read_text())
    # OOV measured on held-out rows: the training rows built the vocabulary
    return write_stage_json(out_dir, "profile.json", text_profile(df["text"], df["label"], vocab_json,
                                                        oov_rows=(df["split"] != "train").to_numpy()))


def file_drift(path: str, champion_bundle: str) -> dict:
    """A file of reviews (fastText lines, plain lines, or a CSV/Parquet `text` column) against
    the champion's training data; labels enter the comparison when the lines carry them."""
    from .ingest import FASTTEXT_LABELS
    from .stream import input_records

    reference, why = champion_profile(champion_bundle)
    if reference is None:
        return {"kind": "text", "flagged": False, "skipped": why}
    texts, labels = [], []
    for _, line, _ in input_records(path):
        if line is not None:
            head, _, rest = line.partition(" ")
            label = FASTTEXT_LABELS.get(head.removeprefix("__label__")) if head.startswith("__label__") else None
            labels.append(label)
            texts.append(rest if head.startswith("__label__") else line)
    labelled = all(label is not None for label in labels)
    vocab = json.loads((Path(champion_bundle) / "vocab.json").read_text())
    return text_drift(reference, text_profile(texts, labels if labelled else None, vocab))


@cached_task(name="drift-report", stage="drift")
def review_drift_task(valid: str, tokens: str, champion_bundle: str | None, out_dir: str) -> dict:
    reference, why = champion_profile(champion_bundle)
    if reference is None:
        report = {"kind": "text", "flagged": False, "skipped": why}
    else:
        df = split_texts(valid, tokens)
        vocab = json.loads((Path(champion_bundle) / "vocab.json").read_text())
        report = text_drift(reference, text_profile(df["text"], df["label"], vocab))
    write_stage_json(out_dir, "drift.json", report)
    return report
