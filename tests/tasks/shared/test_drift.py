"""Drift profiles and reports on real data: the bundled reviews, data/SBUX.csv and the shared
price histories. Each shifted set must be flagged on the check that describes its shift, and
only there where the other checks have no reason to move."""
import codecs
import functools
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_models.text import build_vocab, tokenize
from tasks.forecast.prices import read_prices
from tasks.sentiment.ingest import FASTTEXT_LABELS, iter_fasttext
from tasks.shared.drift import (
    DEFAULT_THRESHOLDS,
    drift_markdown,
    drift_thresholds,
    series_drift,
    series_profile,
    text_drift,
    text_profile,
)

REPO = Path(__file__).resolve().parents[3]
REVIEWS = REPO / "data" / "amazon_polarity_head6459.ft.txt.bz2"
SBUX = REPO / "data" / "SBUX.csv"
HISTORY = REPO.parent / "shared" / "data" / "stocks" / "history"
needs_history = pytest.mark.skipif(not HISTORY.is_dir(), reason="../shared/data/stocks/history not present")

# the pipeline's tokenizer, memoised for this module: the same texts are profiled many times
tok = functools.lru_cache(maxsize=None)(tokenize)


def roundtrip(obj):
    """What a later run reads back from profile.json (strict JSON: no NaN or infinity)."""
    return json.loads(json.dumps(obj, allow_nan=False))


# -- text ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reviews():
    """The bundled reviews as the pipeline reads them, split like a champion's data: the first half
    is the training data (its first 80 % built the vocabulary, the rest is held out), the second
    half is the new batch."""
    df = pd.concat(iter_fasttext(REVIEWS), ignore_index=True)
    df["label"] = df["label_raw"].map(FASTTEXT_LABELS).astype(int)
    half = len(df) // 2
    ref, new = df.iloc[:half].reset_index(drop=True), df.iloc[half:].reset_index(drop=True)
    train_rows = int(half * 0.8)
    itos = build_vocab(Counter(t for text in ref["text"][:train_rows] for t in tok(text)), min_count=2)
    vocab = {"itos": itos, "min_count": 2, "seq_len": 200}  # the shape of a bundle's vocab.json
    held_out = np.arange(half) >= train_rows
    profile = text_profile(ref["text"], ref["label"], vocab, tokenize=tok, oov_rows=held_out)
    return {"ref": ref, "new": new, "vocab": vocab, "held_out": held_out, "profile": profile}


def flags(report: dict) -> dict:
    return {name: c["flagged"] for name, c in report["checks"].items()}


def test_second_half_of_the_reviews_is_no_drift(reviews):
    new = reviews["new"]
    report = text_drift(roundtrip(reviews["profile"]),
                        roundtrip(text_profile(new["text"], new["label"], reviews["vocab"], tokenize=tok)))
    assert not report["flagged"] and report["flagged_checks"] == []
    c = report["checks"]
    # not just under the significance guard: the effects themselves are small
    assert c["length_psi"]["value"] < 0.05
    assert abs(c["oov_rate"]["value"]) < 0.02
    assert c["label_share"]["value"] < 0.03
    assert report["reference_rows"] == len(reviews["ref"]) and report["current_rows"] == len(new)
    json.dumps(report, allow_nan=False)


def test_profile_is_compact_json_and_uses_the_pipeline_tokenizer(reviews):
    p = reviews["profile"]
    assert roundtrip(p) == p
    assert len(json.dumps(p)) < 4000
    assert p["tokenizer"] == "lstm_models.text.tokenize"
    lengths = [len(tokenize(t)) for t in reviews["ref"]["text"]]
    assert p["length"]["quantiles"]["p50"] == pytest.approx(np.median(lengths))
    assert p["length"]["n"] == len(lengths) and sum(p["length"]["hist"]["counts"]) == len(lengths)
    assert p["label"]["share_1"] == pytest.approx(reviews["ref"]["label"].mean(), abs=1e-6)
    assert p["oov"]["rows"] == int(reviews["held_out"].sum()) and p["oov"]["vocab_size"] == len(reviews["vocab"]["itos"]) - 2


def test_oov_reference_on_held_out_rows_not_on_the_rows_that_built_the_vocab(reviews):
    ref, vocab = reviews["ref"], reviews["vocab"]
    train_only = text_profile(ref["text"], ref["label"], vocab, tokenize=tok, oov_rows=~reviews["held_out"])
    held_out = reviews["profile"]
    # tokens seen once in training are _UNK for the model too, but rows that built the vocabulary
    # still read clearly lower than rows it never saw
    assert train_only["oov"]["rate"] < held_out["oov"]["rate"] - 0.015
    with pytest.raises(ValueError, match="entries"):
        text_profile(ref["text"], ref["label"], vocab, tokenize=tok, oov_rows=[True, False])


def test_only_short_reviews_are_flagged_on_length(reviews):
    new = reviews["new"]
    short = new[[len(tok(t)) < 40 for t in new["text"]]]
    assert 300 < len(short) < 1000
    report = text_drift(reviews["profile"], text_profile(short["text"], short["label"], reviews["vocab"], tokenize=tok))
    assert report["flagged"]
    c = report["checks"]
    assert c["length_psi"]["flagged"] and c["length_psi"]["value"] > 1
    assert c["length_psi"]["current"] < 40 < c["length_psi"]["reference"]
    assert not c["oov_rate"]["flagged"]


def test_one_label_only_is_flagged_on_label_balance_only(reviews):
    new = reviews["new"]
    positive = new[new["label"] == 1]
    report = text_drift(reviews["profile"], text_profile(positive["text"], positive["label"], reviews["vocab"], tokenize=tok))
    assert flags(report) == {"length_psi": False, "oov_rate": False, "label_share": True}
    assert report["checks"]["label_share"]["current"] == 1.0
    assert report["checks"]["label_share"]["value"] == pytest.approx(1 - reviews["profile"]["label"]["share_1"], abs=1e-6)


def test_text_in_another_alphabet_is_flagged_on_oov_only(reviews):
    new = reviews["new"]
    # rot13: the same lengths and punctuation, words the vocabulary has never seen
    garbled = new["text"].map(lambda t: codecs.encode(t, "rot13"))
    report = text_drift(reviews["profile"], text_profile(garbled, new["label"], reviews["vocab"], tokenize=tok))
    assert flags(report) == {"length_psi": False, "oov_rate": True, "label_share": False}
    assert report["checks"]["oov_rate"]["current"] > 0.5
    md = drift_markdown(report, "sentiment")
    assert md.splitlines()[0].startswith("**Drift: 1 of 3 checks flagged**") and "Out-of-vocabulary" in md.splitlines()[0]


def test_a_tiny_batch_is_not_flagged_on_sampling_noise(reviews):
    new = reviews["new"].iloc[:10]
    report = text_drift(reviews["profile"], text_profile(new["text"], new["label"], reviews["vocab"], tokenize=tok))
    psi = report["checks"]["length_psi"]
    assert psi["value"] > DEFAULT_THRESHOLDS.psi  # 10 rows in 10 bins: a large PSI by chance alone
    assert psi["p_value"] > DEFAULT_THRESHOLDS.alpha and not psi["flagged"]
    assert not report["flagged"]


def test_sampling_is_seeded_and_capped(reviews):
    new = reviews["new"]
    a = text_profile(new["text"], new["label"], reviews["vocab"], tokenize=tok, sample=800, seed=1)
    b = text_profile(new["text"], new["label"], reviews["vocab"], tokenize=tok, sample=800, seed=1)
    c = text_profile(new["text"], new["label"], reviews["vocab"], tokenize=tok, sample=800, seed=2)
    strip = lambda p: {k: v for k, v in p.items() if k != "created"}  # noqa: E731
    assert strip(a) == strip(b) and a["length"] != c["length"]
    assert a["sampled_rows"] == 800 and a["length"]["n"] == 800 and a["oov"]["rows"] == 800
    assert a["label"]["n"] == len(new)  # the label share reads every row
    full = text_profile(new["text"], new["label"], reviews["vocab"], tokenize=tok, sample=None)
    assert full["length"]["n"] == len(new)
    assert abs(a["length"]["quantiles"]["p50"] - full["length"]["quantiles"]["p50"]) <= 8


def test_vocab_forms_agree_and_a_different_vocab_is_not_compared(reviews, tmp_path):
    new = reviews["new"].iloc[:300]
    itos = reviews["vocab"]["itos"]
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(reviews["vocab"]))
    rates = {text_profile(new["text"], None, v, tokenize=tok)["oov"]["rate"]
             for v in (reviews["vocab"], itos, {t: i for i, t in enumerate(itos)}, str(path))}
    assert len(rates) == 1
    other = text_profile(new["text"], new["label"], itos[:500], tokenize=tok)
    report = text_drift(reviews["profile"], other)
    assert report["checks"]["oov_rate"]["value"] is None and not report["checks"]["oov_rate"]["flagged"]
    assert any("different vocabularies" in w for w in report["warnings"])
    no_labels = text_drift(reviews["profile"], text_profile(new["text"], None, reviews["vocab"], tokenize=tok))
    assert "label_share" not in no_labels["checks"] and any("label" in w for w in no_labels["warnings"])


def test_bad_inputs_are_refused(reviews):
    texts = reviews["ref"]["text"][:20]
    with pytest.raises(ValueError, match="0/1"):
        text_profile(texts, reviews["ref"]["label_raw"][:20], None, tokenize=tok)  # fastText "1"/"2"
    with pytest.raises(ValueError, match="no texts"):
        text_profile([], None, None)
    with pytest.raises(ValueError, match="not a text profile"):
        text_drift(reviews["profile"], series_profile(read_prices(SBUX)))


# -- series -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sbux():
    return read_prices(SBUX)


def test_sbux_against_itself_is_no_drift_whatever_the_row_order(sbux):
    ref = series_profile(sbux)
    shuffled = sbux.sample(frac=1, random_state=0)  # the profile sorts by date itself
    report = series_drift(roundtrip(ref), roundtrip(series_profile(shuffled)))
    assert not report["flagged"]
    c = report["checks"]
    assert c["returns_psi"]["value"] == 0 and c["log_volume_psi"]["value"] == 0
    assert c["volatility_ratio"]["value"] == pytest.approx(1)
    assert ref["returns"]["n"] == len(sbux) - 1
    expected = np.log(sbux["Close"]).diff().std()
    assert ref["returns"]["std"] == pytest.approx(expected, rel=1e-5)
    assert ref["tickers"]["SBUX"]["first_date"] == "2021-08-18" and len(json.dumps(ref)) < 4000
    md = drift_markdown(report, "forecast")
    assert md.splitlines()[0].startswith("**No drift**")
    assert md.count("| no |") == 3


def test_volume_times_100_is_flagged_on_volume_only(sbux):
    louder = sbux.assign(Volume=sbux["Volume"] * 100)
    report = series_drift(series_profile(sbux), series_profile(louder))
    assert flags(report) == {"returns_psi": False, "log_volume_psi": True, "volatility_ratio": False}
    c = report["checks"]["log_volume_psi"]
    assert c["current"] == pytest.approx(100 * c["reference"], rel=1e-3)
    md = drift_markdown(report, "forecast")
    assert "Log volume" in md.splitlines()[0] and "| **yes** |" in md


@needs_history
def test_a_volatile_ticker_is_flagged_on_volatility(sbux):
    ba_2020 = read_prices(HISTORY / "BA.csv.gz").tail(252)  # Boeing through 2020
    report = series_drift(series_profile(sbux), series_profile(ba_2020))
    c = report["checks"]
    assert c["volatility_ratio"]["flagged"] and c["volatility_ratio"]["value"] > 2
    assert c["returns_psi"]["flagged"]
    assert report["tickers"]["new"] == ["BA"] and report["warnings"]


@needs_history
def test_sbux_calm_year_vs_next_is_not_flagged_but_2020_is():
    hist = read_prices(HISTORY / "SBUX.csv.gz")
    year = pd.to_datetime(hist["Date"]).dt.year
    p = {y: series_profile(hist[year == y]) for y in (2013, 2014, 2019, 2020)}
    calm = series_drift(p[2013], p[2014])
    assert not calm["flagged"]
    assert 0.8 < calm["checks"]["volatility_ratio"]["value"] < 1.25
    covid = series_drift(p[2019], p[2020])
    assert covid["checks"]["volatility_ratio"]["flagged"] and covid["checks"]["volatility_ratio"]["value"] > 2
    assert covid["checks"]["returns_psi"]["flagged"]


@needs_history
def test_returns_do_not_cross_tickers(sbux):
    ba = read_prices(HISTORY / "BA.csv.gz").tail(252)
    both = pd.concat([sbux, ba], ignore_index=True)
    p = series_profile(both)
    assert p["returns"]["n"] == len(both) - 2  # one first day per ticker has no return
    assert sorted(p["tickers"]) == ["BA", "SBUX"]
    # the jump from SBUX's last close to BA's first (about 2.8x) would be a return near 1
    assert p["returns"]["quantiles"]["p99"] < 0.2 and p["returns"]["quantiles"]["p01"] > -0.2


def test_thresholds_defaults_overrides_and_unknown_names(sbux):
    assert DEFAULT_THRESHOLDS.to_dict() == {"psi": 0.2, "oov_increase": 0.05, "label_share_change": 0.1,
                                            "volatility_ratio": [0.5, 2.0], "alpha": 0.01}
    louder = series_profile(sbux.assign(Volume=sbux["Volume"] * 100))
    lenient = series_drift(series_profile(sbux), louder, {"psi": 100})
    assert not lenient["flagged"] and lenient["thresholds"]["psi"] == 100
    assert drift_thresholds({"volatility_ratio": [0.8, 1.2]}).volatility_ratio == (0.8, 1.2)
    with pytest.raises(ValueError, match="unknown drift thresholds"):
        drift_thresholds({"psi_limit": 1})
    with pytest.raises(ValueError, match="Volume"):
        series_profile(sbux.drop(columns="Volume"))


def test_price_drift_compares_only_rows_newer_than_the_champions_data():
    from tasks.forecast.prices import read_prices
    from tasks.forecast.profile import rows_after
    from tasks.shared.drift import series_profile

    prices = read_prices(SBUX).sort_values("Date")
    old, new = prices.iloc[:-60], prices.iloc[-60:]
    reference = series_profile(old)
    selected = rows_after(prices, reference)
    assert len(selected) == 60 and selected["Date"].min() == new["Date"].min()
    other = prices.assign(ticker="NEWCO")  # a ticker the champion never saw: all its rows are new
    assert len(rows_after(other, reference)) == len(prices)
