"""Text preprocessing shared by training and prediction: clean, tokenize, vocabulary, encode.

Prediction loads a bundle and calls exactly these functions, so a published model sees
the same tokens it was trained on.
"""
from __future__ import annotations

import html
import re
from collections import Counter

from .word_tokens import WordTokenizer


def _nltk_word_tokenizer():
    """NLTK's NLTKWordTokenizer (needs no downloaded model, unlike word_tokenize), imported
    without running `nltk/__init__.py`: that imports scikit-learn and SciPy, 1.2 s and about
    180 MB in every tokenizing process, for one regex tokenizer. The class is NLTK's own, from
    its own file. Where nltk is already imported, or this fails, the plain import is used."""
    import importlib.util
    import sys
    import types

    if "nltk" not in sys.modules:
        stubs = []
        try:
            spec = importlib.util.find_spec("nltk")
            for name, path in (("nltk", spec.submodule_search_locations[0]),
                               ("nltk.tokenize", f"{spec.submodule_search_locations[0]}/tokenize")):
                stub = types.ModuleType(name)
                stub.__path__ = [path]
                sys.modules[name] = stub
                stubs.append(name)
            from nltk.tokenize.destructive import NLTKWordTokenizer

            return NLTKWordTokenizer()
        except Exception:  # noqa: BLE001 - any surprise: the plain import below
            for name in [m for m in sys.modules if m == "nltk" or m.startswith("nltk.")]:
                del sys.modules[name]
        finally:  # a later `import nltk` runs the real package (which reuses the loaded tokenizer module)
            for name in stubs:
                if sys.modules.get(name) is not None and not hasattr(sys.modules[name], "__file__"):
                    del sys.modules[name]
    from nltk.tokenize import NLTKWordTokenizer

    return NLTKWordTokenizer()


PAD, UNK = "_PAD", "_UNK"
PAD_ID, UNK_ID = 0, 1
URL_TOKEN = "<url>"

# A URL runs to the next space, less trailing punctuation ("see www.x.com, it's..." keeps the comma).
_URL = re.compile(r"(?:https?://|www\.)\S+?(?=[.,;:!?)\]\"']*(?:\s|$))", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_TOKENIZER = WordTokenizer(_nltk_word_tokenizer())  # NLTK's tokens, faster (lstm_models/word_tokens.py)


def clean_text(text: str) -> str:
    """The seed's cleaning: HTML entities decoded, URLs to <url>, lower-case, digits to 0."""
    text = html.unescape(text)
    text = _URL.sub(f" {URL_TOKEN} ", text)
    return _DIGIT.sub("0", text.lower())


def tokenize(text: str) -> list[str]:
    """Clean, then NLTK word tokens; the <url> marker survives as one token."""
    tokens: list[str] = []
    for i, piece in enumerate(clean_text(text).split(URL_TOKEN)):
        if i:
            tokens.append(URL_TOKEN)
        tokens.extend(_TOKENIZER.tokenize(piece))
    return tokens


def build_vocab(counts: Counter, min_count: int = 2, max_size: int | None = None) -> list[str]:
    """Index -> token: _PAD, _UNK, then tokens seen >= min_count, most frequent first.

    Ties are broken alphabetically so the vocabulary is identical however the counts were
    gathered (one process or merged shards).
    """
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    if max_size is not None:
        kept = kept[: max(0, max_size - 2)]
    return [PAD, UNK, *kept]


def encode(tokens: list[str], index: dict[str, int], seq_len: int, tail: int = 0) -> list[int]:
    """Token ids of at most seq_len tokens: a longer text keeps its first seq_len - tail tokens and
    its last `tail` (head + tail: a review's verdict is often at its end). Never empty (an empty
    text is one _UNK). No padding here: batches are padded only to their own longest example.
    """
    if len(tokens) > seq_len:
        tokens = tokens[:seq_len - tail] + (tokens[-tail:] if tail else [])
    ids = [index.get(t, UNK_ID) for t in tokens]
    return ids or [UNK_ID]


def token_index(itos: list[str]) -> dict[str, int]:
    return {t: i for i, t in enumerate(itos)}


FASTTEXT_LABEL = re.compile(r"^__label__(\S*)\s?")


def strip_fasttext_label(line: str) -> str:
    """'__label__2 Great!' -> 'Great!' (prediction input may carry a label; it is ignored)."""
    return FASTTEXT_LABEL.sub("", line, count=1)
