"""NLTK's word tokenizer, the same tokens at about twice its speed.

`NLTKWordTokenizer.tokenize` is about 30 regular-expression substitutions in a fixed order. Since
NLTK 3.9 each one runs through `nltk.redos.TimedPattern`, which calls the `regex` engine with a
wall-clock timeout (a guard against patterns a caller supplies; these are NLTK's own constants),
and most of them change nothing in a given review (no brackets, no quotes, no contractions).
`WordTokenizer` runs the tokenizer's own compiled patterns, in NLTK's order, on the same engine,
without the timeout wrapper, and skips a substitution only where the text lacks a character
every match of that pattern needs (checked on the text as it is at that step). So the output is
NLTK's, token for token: `tests/lstm_models/test_word_tokens.py` checks the bundled reviews and
tricky strings, `benchmarks/bench_batch_predict.py` 200 k perturbed reviews.

The skips are written for the patterns of the installed NLTK: where its patterns are not the
ones listed in `_NEEDS` (another NLTK release), `WordTokenizer` is plain NLTK.
"""
from __future__ import annotations

import re

# For each substitution of NLTKWordTokenizer.tokenize, in its order: (group, pattern source,
# characters or strings of which a match needs at least one). None: always run.
_NEEDS: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("STARTING_QUOTES", "([«“‘„]|[`]+)", tuple("«“‘„`")),
    ("STARTING_QUOTES", '^\\"', ('"',)),
    ("STARTING_QUOTES", "(``)", ("``",)),
    ("STARTING_QUOTES", "([ \\(\\[{<])(\\\"|\\'{2})", ('"', "''")),
    ("STARTING_QUOTES", "(?i)(?<!\\w)(\\')(?!(?:re|ve|ll|m|t|s|d|n)\\b)(?=\\w)", ("'",)),
    ("PUNCTUATION", '([^\\.])(\\.)([\\]\\)}>"\\\'»”’ ]*+)\\s*$', (".",)),
    ("PUNCTUATION", "([:,])([^\\d])", (":", ",")),
    ("PUNCTUATION", "([:,])$", (":", ",")),
    ("PUNCTUATION", "\\.{2,}", ("..",)),
    ("PUNCTUATION", "[;@#$%&]", tuple(";@#$%&")),
    ("PUNCTUATION", "[\\u2012-\\u2015]", ("\u2012", "\u2013", "\u2014", "\u2015")),
    ("PUNCTUATION", '([^\\.])(\\.)([\\]\\)}>"\\\']*)\\s*$', (".",)),
    ("PUNCTUATION", "[?!]", ("?", "!")),
    ("PUNCTUATION", "([^'])' ", ("' ",)),
    ("PUNCTUATION", "[*]", ("*",)),
    ("PARENS_BRACKETS", "[\\]\\[\\(\\)\\{\\}\\<\\>]", tuple("[](){}<>")),
    ("DOUBLE_DASHES", "--", ("--",)),
    ("ENDING_QUOTES", "([»”’])", tuple("»”’")),
    ("ENDING_QUOTES", "''", ("''",)),
    ("ENDING_QUOTES", '"', ('"',)),
    ("ENDING_QUOTES", "\\s+", None),
    ("ENDING_QUOTES", "([^' ])('[sS]|'[mM]|'[dD]|') ", ("'",)),
    ("ENDING_QUOTES", "([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", ("'",)),
]
# The contractions (case-insensitive, stdlib `re` as NLTK compiles them): one search for the
# words in any of them decides whether the ten substitutions run.
_CONTRACTIONS = ["(?i)\\b(can)(?#X)(not)\\b", "(?i)\\b(d)(?#X)('ye)\\b", "(?i)\\b(gim)(?#X)(me)\\b",
                 "(?i)\\b(gon)(?#X)(na)\\b", "(?i)\\b(got)(?#X)(ta)\\b", "(?i)\\b(lem)(?#X)(me)\\b",
                 "(?i)\\b(more)(?#X)('n)\\b", "(?i)\\b(wan)(?#X)(na)(?=\\s)", "(?i) ('t)(?#X)(is)\\b",
                 "(?i) ('t)(?#X)(was)\\b"]
_ANY_CONTRACTION = re.compile("(?i)cannot|d'ye|gimme|gonna|gotta|lemme|more'n|wanna|'tis|'twas")


def _engine(pattern):
    return getattr(pattern, "_rx", pattern)  # nltk.redos.TimedPattern wraps the compiled pattern


def _steps(nltk_tokenizer) -> list | None:
    """[(compiled pattern, replacement, needs)] in NLTK's order, or None where the installed
    NLTK's patterns are not the ones _NEEDS was written for."""
    t = nltk_tokenizer
    found = ([("STARTING_QUOTES", p, s) for p, s in t.STARTING_QUOTES]
             + [("PUNCTUATION", p, s) for p, s in t.PUNCTUATION]
             + [("PARENS_BRACKETS", *t.PARENS_BRACKETS), ("DOUBLE_DASHES", *t.DOUBLE_DASHES)]
             + [("ENDING_QUOTES", p, s) for p, s in t.ENDING_QUOTES])
    if [(g, _engine(p).pattern) for g, p, _ in found] != [(g, src) for g, src, _ in _NEEDS]:
        return None
    if [p.pattern for p in [*t.CONTRACTIONS2, *t.CONTRACTIONS3]] != _CONTRACTIONS:
        return None
    return [(_engine(p), s, needs) for (_, p, s), (_, _, needs) in zip(found, _NEEDS)]


class WordTokenizer:
    """tokenize(text) -> NLTKWordTokenizer().tokenize(text), faster (see the module's doc)."""

    def __init__(self, nltk_tokenizer):
        self.nltk = nltk_tokenizer
        steps = _steps(nltk_tokenizer)
        self.exact_copy = steps is not None
        if steps is not None:
            self._before = steps[:17]  # up to the double dashes; then the text is padded with spaces
            self._after = steps[17:]
            self._contractions = [_engine(p) for p in [*nltk_tokenizer.CONTRACTIONS2, *nltk_tokenizer.CONTRACTIONS3]]

    def tokenize(self, text: str) -> list[str]:
        if not self.exact_copy:
            return self.nltk.tokenize(text)
        for pattern, replacement, needs in self._before:
            if needs is None or any(n in text for n in needs):
                text = pattern.sub(replacement, text)
        text = " " + text + " "
        for pattern, replacement, needs in self._after:
            if needs is None or any(n in text for n in needs):
                text = pattern.sub(replacement, text)
        if _ANY_CONTRACTION.search(text):
            for pattern in self._contractions:
                text = pattern.sub(r" \1 \2 ", text)
        return text.split()
