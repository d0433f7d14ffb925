from collections import Counter

from lstm_models.text import (
    PAD,
    UNK,
    UNK_ID,
    build_vocab,
    clean_text,
    encode,
    strip_fasttext_label,
    token_index,
    tokenize,
)


def test_clean_lowercases_maps_digits_and_urls():
    assert clean_text("Bought 2 for $15 at https://example.com/x?a=1 OK") == "bought 0 for $00 at  <url>  ok"
    assert clean_text("Tom &amp; Jerry") == "tom & jerry"


def test_tokenize_keeps_url_marker_as_one_token():
    assert tokenize("See www.amazon.com/dp/123, it's GREAT!") == ["see", "<url>", ",", "it", "'s", "great", "!"]


def test_vocab_pad_unk_first_then_most_frequent_with_min_count():
    counts = Counter({"good": 5, "bad": 3, "meh": 3, "rare": 1})
    itos = build_vocab(counts, min_count=2)
    assert itos == [PAD, UNK, "good", "bad", "meh"]  # ties broken alphabetically, rare dropped
    assert build_vocab(counts, min_count=1, max_size=4) == [PAD, UNK, "good", "bad"]


def test_encode_truncates_maps_unknown_and_never_returns_empty():
    index = token_index([PAD, UNK, "a", "b"])
    assert encode(["a", "zzz", "b", "a"], index, seq_len=3) == [2, UNK_ID, 3]
    assert encode([], index, seq_len=3) == [UNK_ID]


def test_strip_fasttext_label_only_at_start():
    assert strip_fasttext_label("__label__2 Great: fine") == "Great: fine"
    assert strip_fasttext_label("no label __label__1 here") == "no label __label__1 here"


def test_encode_keeps_head_and_tail_of_a_long_text():
    index = token_index([PAD, UNK, *"abcdefghij"])
    tokens = list("abcdefghij")
    assert encode(tokens, index, 4) == [2, 3, 4, 5]  # the head only (the default)
    assert encode(tokens, index, 4, tail=2) == [2, 3, 10, 11]  # two from the start, the last two
    assert encode(tokens[:3], index, 4, tail=2) == [2, 3, 4]  # a text within the cap is whole


def test_the_tail_is_at_most_half_the_cap():
    from tasks.sentiment.config import PreprocessConfig

    assert PreprocessConfig().tail == 150  # the default: 250 from the start, 150 from the end of 400
    assert PreprocessConfig(seq_len=100).tail == 50  # a small cap keeps its head too
