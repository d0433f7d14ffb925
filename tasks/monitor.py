"""Data profiles and drift reports as pipeline stages: each published bundle carries a profile
of its training data (profile.json), and every run compares its data with the champion's."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .caching import cached_task, staging
from .drift import drift_markdown, series_drift, series_profile, text_drift, text_profile
from .evaluate import split_texts


def _write(out_dir: str, name: str, obj) -> str:
    with staging(out_dir) as tmp:
        (tmp / name).write_text(json.dumps(obj, indent=2, default=str))
    return str(Path(out_dir) / name)


@cached_task(name="profile-data")
def profile_reviews_task(valid: str, tokens: str, vocab: str, out_dir: str, cache_key: str) -> str:
    df = split_texts(valid, tokens)
    vocab_json = json.loads(Path(vocab).read_text())
    # OOV measured on held-out rows: the training rows built the vocabulary
    return _write(out_dir, "profile.json", text_profile(df["text"], df["label"], vocab_json,
                                                        oov_rows=(df["split"] != "train").to_numpy()))


@cached_task(name="profile-data")
def profile_prices_task(valid: str, out_dir: str, cache_key: str) -> str:
    return _write(out_dir, "profile.json", series_profile(pd.read_parquet(valid)))


def _reference(champion_bundle: str | None) -> tuple[dict | None, str]:
    if champion_bundle is None:
        return None, "no champion yet: nothing to compare with"
    path = Path(champion_bundle) / "profile.json"
    if not path.is_file():
        return None, f"the champion ({Path(champion_bundle).name}) has no profile.json (published before drift reports)"
    return json.loads(path.read_text()), ""


@cached_task(name="drift-report")
def review_drift_task(valid: str, tokens: str, champion_bundle: str | None, out_dir: str, cache_key: str) -> dict:
    reference, why = _reference(champion_bundle)
    if reference is None:
        report = {"kind": "text", "flagged": False, "skipped": why}
    else:
        df = split_texts(valid, tokens)
        vocab = json.loads((Path(champion_bundle) / "vocab.json").read_text())
        report = text_drift(reference, text_profile(df["text"], df["label"], vocab))
    _write(out_dir, "drift.json", report)
    return report


MIN_NEW_ROWS = 20  # fewer new days than this say nothing about a distribution


def rows_after(prices: pd.DataFrame, reference: dict) -> pd.DataFrame:
    """The rows newer than the champion's data: each known ticker's rows after its last date in
    the champion's profile, and every row of a ticker the champion has not seen. Comparing the
    whole history instead would let years of shared rows dilute a recent change."""
    last = {t: pd.Timestamp(v["last_date"]) for t, v in reference.get("tickers", {}).items() if v.get("last_date")}
    cutoff = prices["ticker"].astype(str).map(last)
    return prices[cutoff.isna() | (pd.to_datetime(prices["Date"]) > cutoff)]


@cached_task(name="drift-report")
def price_drift_task(valid: str, champion_bundle: str | None, out_dir: str, cache_key: str) -> dict:
    reference, why = _reference(champion_bundle)
    if reference is None:
        report = {"kind": "series", "flagged": False, "skipped": why}
    else:
        new = rows_after(pd.read_parquet(valid), reference)
        report = (series_drift(reference, series_profile(new)) if len(new) >= MIN_NEW_ROWS else
                  {"kind": "series", "flagged": False,
                   "skipped": f"{len(new)} rows newer than the champion's data (fewer than {MIN_NEW_ROWS})"})
        report["current_rows_selected"] = int(len(new))
    _write(out_dir, "drift.json", report)
    return report


def publish_drift(kind: str, report: dict, champion: str | None) -> None:
    from prefect.artifacts import create_markdown_artifact

    if report.get("skipped"):
        markdown, description = f"# Drift report ({kind})\n\nNot computed: {report['skipped']}.", report["skipped"]
    else:
        markdown = drift_markdown(report, kind) + f"\n\nReference: the training data of champion {champion}."
        description = ("DRIFT: " + ", ".join(report["flagged_checks"])) if report["flagged"] else "no drift flagged"
    create_markdown_artifact(key=f"{kind}-drift", markdown=markdown, description=description)
