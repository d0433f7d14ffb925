"""Reading prediction input as a stream: one record per line, in order, with its number; blank
and unusable lines are records with a reason, trailing blank lines are not records."""
import bz2

import pytest

from tasks.sentiment.stream import chunks, input_records
from tasks.shared.errors import DataError


def test_every_line_is_a_record_with_its_number_and_unusable_ones_say_why(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"\xef\xbb\xbfgood\r\n\n  \nbad \xff\n__label__1 fine\n__label__2 \n\n\n")
    assert list(input_records(path)) == [
        (1, "good", None), (2, None, "blank line"), (3, None, "blank line"),
        (4, None, "not valid UTF-8 (byte 4 of the line)"), (5, "__label__1 fine", None),
        (6, None, "no text after the fastText label")]


def test_compressed_input_and_chunks_keep_the_order(tmp_path):
    path = tmp_path / "in.txt.bz2"
    path.write_bytes(bz2.compress("".join(f"text {i}\n" for i in range(25)).encode()))
    got = list(chunks(input_records(path), size=10))
    assert [len(c.lines) for c in got] == [10, 10, 5]
    assert [n for c in got for n in c.lines] == list(range(1, 26))
    assert got[2].texts[-1] == "text 24"


def test_table_rows_are_numbered_and_empty_texts_say_why(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,text\n1,good\n2,""\n3,"two\nlines"\n')
    assert list(input_records(path)) == [(1, "good", None), (2, None, "empty text"), (3, "two\nlines", None)]
    with pytest.raises(DataError, match="in.csv: missing column: no 'body' column"):
        list(input_records(path, text_column="body"))


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="input not found"):
        list(input_records(tmp_path / "nope.txt"))


def test_a_small_input_is_scored_in_one_process(tmp_path, monkeypatch):
    from tasks.sentiment import stream

    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_text("good\n" * 10)
    big.write_bytes(b"x" * stream.SMALL_INPUT_BYTES)
    monkeypatch.setattr(stream.os, "cpu_count", lambda: 4)
    assert stream.default_workers(small) == 1
    assert stream.default_workers(big) == 4 and stream.default_workers("-") == 4 and stream.default_workers() == 4
