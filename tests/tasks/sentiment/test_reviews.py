import bz2
from pathlib import Path

import pandas as pd
import pytest

from tasks.sentiment.config import ReviewIngestConfig, ReviewValidationConfig
from tasks.sentiment.ingest import write_raw
from tasks.sentiment.validate import validate_raw
from tasks.shared.errors import DataError

INGEST = ReviewIngestConfig()
LIMITS = ReviewValidationConfig(max_quarantine_fraction=0.5, min_rows_per_class=1)


def read_reviews(path, ingest):
    """(raw rows, label map, format): the ingest stage's raw.parquet, read back."""
    out = Path(path).parent / "raw.parquet"
    label_map, fmt, _ = write_raw(path, ingest, out)
    return pd.read_parquet(out), label_map, fmt


def validate_reviews(path, label_map, validation):
    """(accepted, quarantined, report) of the validation stage on raw.parquet beside path."""
    folder = Path(path).parent
    report = validate_raw(folder / "raw.parquet", label_map, Path(path).name, validation, folder)
    return pd.read_parquet(folder / "valid.parquet"), pd.read_parquet(folder / "quarantine.parquet"), report


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_fasttext_keeps_line_numbers_and_flags_malformed_lines(tmp_path, review_lines):
    good = "\n".join(review_lines[:6]).encode()
    bad = (b"no label at all\n"  # line 7
           b"__label__3 three stars\n"  # line 8
           b"__label__1    \n"  # line 9: empty text
           b"\n"  # blank line: not a record
           b"__label__2 caf\xe9 latin-1 byte\n")  # line 11
    path = _write(tmp_path / "r.ft.txt", b"\xef\xbb\xbf" + good.replace(b"\n", b"\r\n") + b"\r\n" + bad)
    raw, label_map, fmt = read_reviews(path, INGEST)
    assert fmt == "fasttext" and label_map == {"1": 0, "2": 1}
    assert raw["row"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]
    assert raw["label_raw"].iloc[0] == review_lines[0][9]  # BOM stripped before the label
    assert not raw["text"].str.endswith("\r").any()
    accepted, quarantined, report = validate_reviews(path, label_map, LIMITS)
    reasons = dict(zip(quarantined["row"], quarantined["reason"]))
    assert reasons == {7: "missing label", 8: "label not in {1, 2}", 9: "empty text", 11: "undecodable bytes"}
    assert report["rows"] == {"read": 10, "accepted": 6, "quarantined": 4}
    assert report["rejected"] is None
    assert set(accepted["label"]) <= {0, 1}


def test_batch_rejected_when_everything_is_quarantined(tmp_path):
    path = _write(tmp_path / "plain.txt", b"just text\nmore text\n")
    raw, label_map, _ = read_reviews(path, INGEST)
    _, quarantined, report = validate_reviews(path, label_map, LIMITS)
    assert len(quarantined) == 2
    assert report["rejected"].startswith("all 2 rows were quarantined: most common reason 'missing label'")


def test_batch_rejected_when_a_class_is_missing(review_lines, tmp_path):
    negatives = [l for l in review_lines if l.startswith("__label__1")][:20]
    path = _write(tmp_path / "neg.txt", "\n".join(negatives).encode())
    raw, label_map, _ = read_reviews(path, INGEST)
    _, _, report = validate_reviews(path, label_map, ReviewValidationConfig(min_rows_per_class=5))
    assert "class 1 (positive) has 0 accepted rows" in report["rejected"]


@pytest.mark.parametrize("name,data,rule", [
    ("empty.txt", b"", "empty input"),
    ("blank.txt", b"\n\n  \n", "empty input"),
    ("trunc.txt.bz2", None, "truncated input"),
])
def test_unusable_files_raise_data_error_naming_the_file(tmp_path, review_lines, name, data, rule):
    if data is None:  # real reviews, compressed, cut in half
        full = bz2.compress("\n".join(review_lines[:300]).encode())
        data = full[: len(full) // 2]
    path = _write(tmp_path / name, data)
    with pytest.raises(DataError, match=rule) as exc:
        read_reviews(path, INGEST)
    assert name in str(exc.value)


def test_missing_path_and_directory_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="input not found"):
        read_reviews(tmp_path / "nope.txt", INGEST)
    with pytest.raises(DataError, match="input is a directory"):
        read_reviews(tmp_path, INGEST)


def test_csv_with_1_2_labels_and_title_column(tmp_path):
    df = pd.DataFrame({"polarity": [1, 2, 2], "title": ["Bad", "Good", "Fine"], "body": ["broke", "love it", "ok"]})
    df.to_csv(tmp_path / "r.csv", index=False)
    cfg = ReviewIngestConfig(text_column="body", label_column="polarity", title_column="title")
    path = tmp_path / "r.csv"
    raw, label_map, fmt = read_reviews(path, cfg)
    assert fmt == "csv" and label_map["1"] == 0 and label_map["2"] == 1
    assert raw["text"].tolist() == ["Bad: broke", "Good: love it", "Fine: ok"]
    accepted, _, _ = validate_reviews(path, label_map, LIMITS)
    assert accepted["label"].tolist() == [0, 1, 1]


def test_csv_missing_columns_names_what_was_found(tmp_path):
    _write(tmp_path / "wrong.csv", b"id,body\n1,hello\n")
    with pytest.raises(DataError, match=r"wrong.csv: missing column: text, label not found \(columns: id, body\)"):
        read_reviews(tmp_path / "wrong.csv", INGEST)


def test_parquet_with_0_1_labels(tmp_path):
    pd.DataFrame({"text": ["great", "awful", ""], "label": [1, 0, 1]}).to_parquet(tmp_path / "r.parquet")
    path = tmp_path / "r.parquet"
    raw, label_map, fmt = read_reviews(path, INGEST)
    assert fmt == "parquet" and label_map == {"0": 0, "1": 1}
    accepted, quarantined, _ = validate_reviews(path, label_map, LIMITS)
    assert accepted["label"].tolist() == [1, 0] and quarantined["reason"].tolist() == ["empty text"]


def test_report_names_the_versioned_suite_and_data_docs_show_the_first_chunk(tmp_path, review_lines):
    path = _write(tmp_path / "r.ft.txt", ("\n".join(review_lines[:30]) + "\nno label here\n").encode())
    label_map, _, rows = write_raw(path, INGEST, tmp_path / "raw.parquet", chunk_rows=20)
    report = validate_raw(tmp_path / "raw.parquet", label_map, "r.ft.txt", LIMITS, tmp_path, chunk_rows=20,
                          docs_dir=tmp_path / "docs")
    assert report["suite"] == {"name": "reviews", "version": "reviews-v1"}
    assert report["data_docs"] == str(tmp_path / "docs" / "index.html")
    assert report["data_docs_scope"] == "first 20 of 31 rows (the first chunk)"
    index = (tmp_path / "docs" / "index.html").read_text()
    assert "reviews-v1" in index and "r.ft.txt" in index
    assert report["rows"]["quarantined"] == 1  # the counts cover every chunk


def test_a_review_of_megabytes_is_quarantined_not_tokenized(review_lines, tmp_path):
    lines = review_lines[:20] + ["__label__2 " + "word " * 30_000]
    path = _write(tmp_path / "r.txt", "\n".join(lines).encode())
    raw, label_map, _ = read_reviews(path, INGEST)
    _, quarantined, _ = validate_reviews(path, label_map, ReviewValidationConfig(min_rows_per_class=1,
                                                                                        max_text_chars=100_000))
    assert dict(zip(quarantined["row"], quarantined["reason"])) == {21: "text longer than 100000 characters"}


def test_csv_bytes_that_are_not_utf8_quarantine_their_row_only(tmp_path):
    data = b"text,label\ngreat,1\ncaf\xe9 awful,0\nfine,1\n"
    path = _write(tmp_path / "r.csv", data)
    raw, label_map, _ = read_reviews(path, INGEST)
    assert raw["text"].tolist() == ["great", "caf\ufffd awful", "fine"]
    accepted, quarantined, _ = validate_reviews(path, label_map, LIMITS)
    assert accepted["row"].tolist() == [1, 3]
    assert dict(zip(quarantined["row"], quarantined["reason"])) == {2: "undecodable bytes"}
    assert quarantined["parse_error"].tolist() == ["not valid UTF-8 in column text"]


def test_a_pipe_is_refused_before_it_is_opened(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(DataError, match="input is not a regular file"):
        read_reviews(tmp_path / "pipe.txt", INGEST)  # opening it would wait for a writer forever


def test_data_docs_build_under_a_relative_output_folder(tmp_path, review_lines, monkeypatch):
    """`--output outputs/sentiment` is relative; GX needs an absolute docs folder."""
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path / "r.ft.txt", ("\n".join(review_lines[:30]) + "\n").encode())
    label_map, _, _ = write_raw(path, INGEST, Path("raw.parquet"))
    report = validate_raw(Path("raw.parquet"), label_map, "r.ft.txt", LIMITS, Path("."), docs_dir=Path("out/docs"))
    assert (tmp_path / "out" / "docs" / "index.html").is_file() and report["rows"]["accepted"] == 30
