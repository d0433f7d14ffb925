"""The fast word tokenizer gives NLTK's tokens exactly, on real reviews and on strings that
exercise every substitution it may skip."""
import copy

import pytest

from lstm_models.text import _TOKENIZER, clean_text
from lstm_models.word_tokens import WordTokenizer

NLTK = _TOKENIZER.nltk

TRICKY = [
    'He said "hello" and \'\'bye\'\' -- then left...', "``Quoted'' text, with: colons; and 3,000 items.",
    "I can't, won't and shouldn't; we'll see. You're THEY'LL I'M he'D 'tis 'Twas",
    "Cannot gonna gotta wanna gimme lemme more'n d'ye WANNA go", "«Bonjour» “smart” ‘single’ „low“ ’tail”",
    "Price: $5 @ #1 50% & more* (really) [sure] {ok} <tag>", "en–dash em—dash figure‒dash bar―", "Wait?! Really!",
    "end with period.", "end with quote.\"", "trailing '", "'leading quote", "multiple   spaces\tand\ttabs\n",
    "", "   ", ".", "'", '"', "...", "--", "a.b.c. d", "Kelvin \u212a and long \u017f: \u017fave 'ti\u017f",
    "don't.", "o'clock rock'n'roll", "it's 'quoted' text", "l'amour c'est", "x' y", ": leading colon", "end,",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_match_nltk(text):
    assert _TOKENIZER.tokenize(text) == NLTK.tokenize(text)
    assert _TOKENIZER.tokenize(text.lower()) == NLTK.tokenize(text.lower())


def test_the_installed_nltk_is_the_one_the_skips_were_written_for():
    assert _TOKENIZER.exact_copy  # else tokenize() falls back to plain NLTK (correct, but slow)


def test_bundled_reviews_match_nltk_raw_and_cleaned(review_lines):
    texts = [line.split(" ", 1)[1] for line in review_lines]
    assert [_TOKENIZER.tokenize(t) for t in texts] == [NLTK.tokenize(t) for t in texts]
    cleaned = [clean_text(t) for t in texts]
    assert [_TOKENIZER.tokenize(t) for t in cleaned] == [NLTK.tokenize(t) for t in cleaned]


def test_other_patterns_fall_back_to_nltk_itself():
    changed = copy.copy(NLTK)
    changed.DOUBLE_DASHES = (NLTK.PARENS_BRACKETS[0], r" \g<0> ")  # a pattern the skips were not written for
    fallback = WordTokenizer(changed)
    assert not fallback.exact_copy
    text = "a -- (b) c"
    assert fallback.tokenize(text) == changed.tokenize(text) == ["a", "--", "(", "b", ")", "c"]
