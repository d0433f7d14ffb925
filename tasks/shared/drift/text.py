"""The text profile (lengths, labels, vocabulary, OOV share) and the text drift report."""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_models.text import PAD, UNK
from lstm_models.text import tokenize as _pipeline_tokenize

from .statistics import (
    PROFILE_FORMAT,
    QUANTILES,
    DriftThresholds,
    _check,
    _distribution_check,
    _expect,
    _now,
    _num,
    _report,
    _summary,
    _two_proportions,
    drift_thresholds,
)


def known_tokens(vocab) -> frozenset[str]:
    """The real tokens of a vocabulary (not _PAD/_UNK), from any of: a bundle's vocab.json
    contents ({"itos": [...], ...}) or its path, an itos list, or a token -> id dict."""
    if isinstance(vocab, (str, Path)):
        vocab = json.loads(Path(vocab).read_text(encoding="utf-8"))
    if isinstance(vocab, dict) and "itos" in vocab:
        tokens = vocab["itos"]
    elif isinstance(vocab, (dict, list, tuple, set, frozenset)):
        tokens = vocab
    else:
        raise TypeError(f"vocab must be vocab.json's contents, its path, an itos list or a token -> id dict, "
                        f"not {type(vocab).__name__}")
    return frozenset(t for t in tokens if t not in (PAD, UNK))


def vocab_fingerprint(known: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(known)).encode("utf-8")).hexdigest()[:16]


def text_profile(texts: pd.Series | Sequence[str], labels: pd.Series | Sequence[int] | None = None, vocab=None, *,
                 tokenize: Callable[[str], list[str]] = _pipeline_tokenize, sample: int | None = 5000,
                 seed: int = 0, oov_rows: Sequence[bool] | np.ndarray | None = None) -> dict:
    """A JSON-serialisable summary of a set of reviews.

    texts: the review texts (the pipeline's valid.parquet `text`). labels: 0/1 (1 = positive,
    valid.parquet `label`), or None. vocab: the vocabulary OOV is measured against (see
    `known_tokens` for the forms), or None for no OOV rate. tokenize: the pipeline's own
    `lstm_models.text.tokenize` (clean_text, then NLTK word tokens), so lengths and unknown
    tokens are what the model sees before truncation to seq_len.
    sample: at most this many rows are tokenized (a seeded sample; None for all); the label
    share uses every row. oov_rows: a mask of the rows the OOV rate is measured on (also
    sampled); give the held-out rows (split != "train") when profiling the champion's own
    training data, since rows that built the vocabulary have fewer unknown tokens by
    construction.
    """
    texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in texts]
    n = len(texts)
    if n == 0:
        raise ValueError("no texts to profile")
    rng = np.random.default_rng(seed)

    def pick(idx: np.ndarray) -> np.ndarray:
        return idx if sample is None or len(idx) <= sample else np.sort(rng.choice(idx, sample, replace=False))

    cache: dict[int, list[str]] = {}

    def tokens(i: int) -> list[str]:
        if i not in cache:
            cache[i] = tokenize(texts[i])
        return cache[i]

    rows = pick(np.arange(n))
    lengths = np.fromiter((len(tokens(i)) for i in rows), np.int64, len(rows))
    length = _summary(np.log1p(lengths), "log1p_tokens")
    # quantiles and mean in tokens, not on the log scale the histogram uses
    length["mean"] = _num(lengths.mean())
    length["std"] = _num(lengths.std(ddof=1)) if len(lengths) > 1 else None
    length["quantiles"] = {f"p{round(q * 100):02d}": _num(v) for q, v in zip(QUANTILES, np.quantile(lengths, QUANTILES))}
    length["empty"] = int((lengths == 0).sum())

    label = None
    if labels is not None:
        lab = pd.to_numeric(pd.Series(list(labels)), errors="raise")
        if len(lab) != n:
            raise ValueError(f"{len(lab)} labels for {n} texts")
        bad = sorted(set(lab.dropna().unique().tolist()) - {0, 1})
        if bad or lab.isna().any():
            raise ValueError(f"labels must be 0/1 (1 = positive); found {bad[:5] or 'missing values'}")
        label = {"n": n, "count_1": int((lab == 1).sum()), "share_1": _num(float((lab == 1).mean()))}

    oov = None
    if vocab is not None:
        known = known_tokens(vocab)
        if oov_rows is None:
            oov_idx = rows
        else:
            mask = np.asarray(oov_rows, dtype=bool)
            if mask.shape != (n,):
                raise ValueError(f"oov_rows has {mask.size} entries for {n} texts")
            oov_idx = pick(np.flatnonzero(mask))
            if not len(oov_idx):
                raise ValueError("oov_rows selects no rows")
        total = unknown = 0
        for i in oov_idx:
            toks = tokens(i)
            total += len(toks)
            unknown += sum(1 for tok in toks if tok not in known)
        oov = {"rate": _num(unknown / total) if total else None, "tokens": int(total), "unknown": int(unknown),
               "rows": int(len(oov_idx)), "rows_selected": "all" if oov_rows is None else "oov_rows",
               "vocab_size": len(known), "vocab_sha256": vocab_fingerprint(known)}

    return {"kind": "text", "format": PROFILE_FORMAT, "created": _now(), "rows": n,
            "sampled_rows": int(len(rows)), "seed": seed, "tokenizer": _name(tokenize),
            "length": length, "label": label, "oov": oov}


def _name(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def text_drift(reference: dict, current: dict, thresholds: DriftThresholds | dict | None = None) -> dict:
    """Checks of `current` against `reference` (both from `text_profile`): token-length
    distribution (PSI), OOV rate increase, label-share change. `flagged` if any check is."""
    _expect(reference, "text", "reference")
    _expect(current, "text", "current")
    t = drift_thresholds(thresholds)
    warnings: list[str] = []
    if reference.get("tokenizer") != current.get("tokenizer"):
        warnings.append(f"profiles were tokenized differently ({reference.get('tokenizer')} vs "
                        f"{current.get('tokenizer')}): lengths and OOV rates may not compare")
    checks = [_distribution_check(
        "length_psi", "Token length: PSI", "median tokens", reference["length"], current["length"], t,
        lambda s: s["quantiles"]["p50"])]

    ro, co = reference.get("oov"), current.get("oov")
    if ro and co and ro["rate"] is not None and co["rate"] is not None:
        if ro["vocab_sha256"] != co["vocab_sha256"]:
            warnings.append(f"OOV rates were measured against different vocabularies ({ro['vocab_size']} vs "
                            f"{co['vocab_size']} tokens): profile the new data with the champion's vocab.json")
            checks.append(_check("oov_rate", "Out-of-vocabulary rate: increase", "OOV rate", ro["rate"], co["rate"],
                                 None, t.oov_increase, False, note="not comparable: different vocabularies"))
        else:
            diff = co["rate"] - ro["rate"]
            p = _two_proportions(ro["unknown"], ro["tokens"], co["unknown"], co["tokens"], one_sided=True)
            checks.append(_check("oov_rate", "Out-of-vocabulary rate: increase", "OOV rate", ro["rate"], co["rate"],
                                 diff, t.oov_increase, diff > t.oov_increase and p < t.alpha, p))
    else:
        warnings.append("no OOV rate in " + " and ".join(
            r for r, o in (("the reference", ro), ("the current profile", co)) if not o or o.get("rate") is None))

    rl, cl = reference.get("label"), current.get("label")
    if rl and cl:
        diff = abs(cl["share_1"] - rl["share_1"])
        p = _two_proportions(rl["count_1"], rl["n"], cl["count_1"], cl["n"])
        checks.append(_check("label_share", "Label balance: absolute change", "share of label 1", rl["share_1"],
                             cl["share_1"], diff, t.label_share_change, diff > t.label_share_change and p < t.alpha, p))
    else:
        warnings.append("labels missing from a profile: label balance not compared")
    return _report("text", checks, reference, current, t, warnings)
