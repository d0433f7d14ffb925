import json

import pandas as pd
import pyarrow.parquet as pq

from tasks.sentiment.config import PreprocessConfig, SplitConfig
from tasks.sentiment.tokenize import tokenize_reviews


def _valid(tmp_path, review_lines, n=900, dup=40):
    lines = review_lines[:n] + review_lines[:dup]  # real duplicates, as review dumps have
    df = pd.DataFrame({"row": range(1, len(lines) + 1), "label": [int(l[9] == "2") for l in lines],
                       "text": [l.split(" ", 1)[1] for l in lines]})
    path = tmp_path / "valid.parquet"
    df.to_parquet(path)
    return path


def test_sharded_parallel_run_is_identical_to_one_process(tmp_path, review_lines):
    valid = _valid(tmp_path, review_lines)
    split = SplitConfig()
    tokenize_reviews(valid, tmp_path / "one", PreprocessConfig(processes=1, shard_rows=100_000), split)
    tokenize_reviews(valid, tmp_path / "many", PreprocessConfig(processes=2, shard_rows=150), split)
    tokenize_reviews(valid, tmp_path / "each", PreprocessConfig(processes=2, shard_rows=100), split, dedup=False)
    for other in ("many", "each"):  # each distinct text tokenized once, or every row: the same result
        assert pq.read_table(tmp_path / "one/tokens.parquet").equals(pq.read_table(tmp_path / other / "tokens.parquet"))
        assert (tmp_path / "one/vocab.json").read_text() == (tmp_path / other / "vocab.json").read_text()
        assert (tmp_path / "one/split.json").read_text() == (tmp_path / other / "split.json").read_text()


def test_duplicates_share_a_split_and_vocab_comes_from_train_only(tmp_path, review_lines):
    valid = _valid(tmp_path, review_lines)
    stats = tokenize_reviews(valid, tmp_path / "t", PreprocessConfig(processes=1, seq_len=50), SplitConfig(seed=7))
    tokens = pq.read_table(tmp_path / "t/tokens.parquet").to_pandas()
    tokens["split"] = tokens["split"].astype(str)
    assert stats["duplicate_reviews"] == 40
    # row i and its duplicate (row 900 + i) land in the same split: no train/test leakage
    assert (tokens["split"].iloc[:40].to_numpy() == tokens["split"].iloc[900:940].to_numpy()).all()
    assert tokens["length"].max() <= 50 and (tokens["length"] == tokens["ids"].map(len)).all()
    vocab = json.loads((tmp_path / "t/vocab.json").read_text())
    assert vocab["itos"][:2] == ["_PAD", "_UNK"]
    # a word that appears only in test rows must not be in the vocabulary
    from lstm_models.text import tokenize
    texts = pd.read_parquet(valid)["text"]
    train_words = {w for t, s in zip(texts, tokens["split"]) if s == "train" for w in tokenize(t)}
    assert set(vocab["itos"][2:]) <= train_words
    sizes = json.loads((tmp_path / "t/split.json").read_text())["sizes"]
    assert sum(sizes.values()) == len(tokens) and sizes["test"] > 50 and sizes["val"] > 50


def test_split_depends_on_seed(tmp_path, review_lines):
    valid = _valid(tmp_path, review_lines, n=300, dup=0)
    a = tokenize_reviews(valid, tmp_path / "a", PreprocessConfig(processes=1), SplitConfig(seed=1))
    b = tokenize_reviews(valid, tmp_path / "b", PreprocessConfig(processes=1), SplitConfig(seed=2))
    sa = pq.read_table(tmp_path / "a/tokens.parquet").column("split").to_pylist()
    sb = pq.read_table(tmp_path / "b/tokens.parquet").column("split").to_pylist()
    assert sa != sb and a["rows"] == b["rows"] == 300


def test_appended_rows_retokenize_only_the_new_shards(tmp_path, review_lines):
    """Incremental retraining: with a shard cache, rows appended to the input cost only their own
    shards, and the result is the same as tokenizing everything afresh."""
    cache, cfg, split = tmp_path / "cache", PreprocessConfig(processes=1, shard_rows=200), SplitConfig()
    first = tokenize_reviews(_valid(tmp_path, review_lines, n=900, dup=0), tmp_path / "day1", cfg, split, shard_cache=cache)
    assert (first["shards"], first["shards_tokenized"]) == (5, 5)
    (tmp_path / "grown").mkdir()
    grown = _valid(tmp_path / "grown", review_lines, n=1300, dup=0)  # 400 new rows: the 100-row tail shard grows
    second = tokenize_reviews(grown, tmp_path / "day2", cfg, split, shard_cache=cache)
    assert (second["shards"], second["shards_tokenized"]) == (7, 3)  # rows 800-1299: shards 5, 6, 7
    again = tokenize_reviews(grown, tmp_path / "day2-again", cfg, split, shard_cache=cache)
    assert again["shards_tokenized"] == 0
    tokenize_reviews(grown, tmp_path / "fresh", cfg, split)
    assert pq.read_table(tmp_path / "day2/tokens.parquet").equals(pq.read_table(tmp_path / "fresh/tokens.parquet"))
    assert (tmp_path / "day2/vocab.json").read_text() == (tmp_path / "fresh/vocab.json").read_text()
