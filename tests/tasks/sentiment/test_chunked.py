"""Reading, validating and tokenizing in chunks gives the same result as doing it in one piece."""
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tasks.sentiment.config import (
    PreprocessConfig,
    ReviewIngestConfig,
    ReviewValidationConfig,
    SplitConfig,
)
from tasks.sentiment.ingest import write_raw
from tasks.sentiment.tokenize import tokenize_reviews
from tasks.sentiment.validate import validate_raw

LIMITS = ReviewValidationConfig(max_quarantine_fraction=0.5, min_rows_per_class=1)


@pytest.fixture
def messy_reviews(tmp_path, review_lines):
    """Real reviews with a BOM, CRLF endings, blank lines and bad rows scattered through them."""
    lines = [l.encode() for l in review_lines[:700]]
    lines[0] = b"\xef\xbb\xbf" + lines[0]
    lines[50] = b"no label at all"
    lines[123] = b"__label__3 three stars"
    lines[124] = b""
    lines[300] = b"__label__1    "
    lines[301] = b"no label either"
    lines[555] = b"__label__2 caf\xe9 latin-1 byte"
    path = tmp_path / "messy.ft.txt"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return path


def test_streamed_ingest_and_validation_match_one_chunk(tmp_path, messy_reviews):
    ingest = ReviewIngestConfig()
    results = {}
    for chunk in (10**6, 64):
        out = tmp_path / f"chunk{chunk}"
        out.mkdir()
        label_map, fmt, rows = write_raw(messy_reviews, ingest, out / "raw.parquet", chunk_rows=chunk)
        report = validate_raw(out / "raw.parquet", label_map, "messy.ft.txt", LIMITS, out, chunk_rows=chunk)
        assert pq.ParquetFile(out / "valid.parquet").num_row_groups == (1 if chunk > rows else -(-rows // chunk))
        results[chunk] = (label_map, fmt, rows, report, *(pq.read_table(out / f).to_pandas()
                                                        for f in ("raw.parquet", "valid.parquet", "quarantine.parquet")))
    whole, chunked = results[10**6], results[64]
    assert whole[:4] == chunked[:4]
    for a, b in zip(whole[4:], chunked[4:]):
        pd.testing.assert_frame_equal(a, b)

    label_map, fmt, rows, report, raw, valid, quarantine = chunked
    # row numbers are the file's line numbers (the blank line 125 is not a record)
    assert rows == 699 and report["rows"] == {"read": 699, "accepted": 694, "quarantined": 5}
    assert dict(zip(quarantine["row"], quarantine["reason"])) == {
        51: "missing label", 124: "label not in {1, 2}", 301: "empty text", 302: "missing label", 556: "undecodable bytes"}
    assert raw["label_raw"].iloc[0] in {"1", "2"}  # BOM stripped
    assert raw["row"].iloc[125] == 127 and not raw["text"].str.endswith("\r").any()
    assert report["quarantine_reasons"]["missing label"] == 2
    missing = next(e for e in report["expectations"] if e["rule"] == "missing label")
    assert missing["unexpected_count"] == 2 and not missing["success"]


@pytest.mark.parametrize("name", ["r.csv", "r.parquet"])
def test_tables_stream_in_chunks_too(tmp_path, review_lines, name):
    lines = review_lines[:25]
    df = pd.DataFrame({"polarity": [l[9] for l in lines], "title": [f"t{i}" for i in range(25)],
                       "body": [l.split(" ", 1)[1] for l in lines]})
    df.to_csv(tmp_path / name, index=False) if name.endswith(".csv") else df.to_parquet(tmp_path / name)
    cfg = ReviewIngestConfig(text_column="body", label_column="polarity", title_column="title")
    label_map, fmt, _ = write_raw(tmp_path / name, cfg, tmp_path / "whole.parquet")
    whole = pq.read_table(tmp_path / "whole.parquet").to_pandas()
    assert write_raw(tmp_path / name, cfg, tmp_path / "raw.parquet", chunk_rows=4) == (label_map, fmt, 25)
    streamed = pq.read_table(tmp_path / "raw.parquet").to_pandas()
    assert streamed["row"].tolist() == list(range(1, 26)) == whole["row"].tolist()
    assert streamed["text"].tolist() == whole["text"].tolist() and streamed["text"].iloc[3].startswith("t3: ")
    assert streamed["label_raw"].tolist() == whole["label_raw"].tolist()


def test_pipeline_output_does_not_depend_on_chunk_or_shard_size(tmp_path, messy_reviews):
    def run(name, chunk, preprocess):
        out = tmp_path / name
        out.mkdir()
        label_map, _, _ = write_raw(messy_reviews, ReviewIngestConfig(), out / "raw.parquet", chunk_rows=chunk)
        validate_raw(out / "raw.parquet", label_map, "messy.ft.txt", LIMITS, out, chunk_rows=chunk)
        return tokenize_reviews(out / "valid.parquet", out / "tok", preprocess, SplitConfig())

    one = run("one", 10**6, PreprocessConfig(processes=1, shard_rows=100_000))
    many = run("many", 77, PreprocessConfig(processes=1, shard_rows=100))
    layout = ("shards", "shards_tokenized")
    assert {k: v for k, v in one.items() if k not in layout} == {k: v for k, v in many.items() if k not in layout}
    assert pq.read_table(tmp_path / "one/tok/tokens.parquet").equals(pq.read_table(tmp_path / "many/tok/tokens.parquet"))
    assert json.loads((tmp_path / "one/tok/vocab.json").read_text()) == json.loads((tmp_path / "many/tok/vocab.json").read_text())
