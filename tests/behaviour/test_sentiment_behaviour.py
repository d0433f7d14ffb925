"""Behavioural tests of a trained sentiment model (CheckList style: minimum functionality,
invariance, direction), on the model the default config gives (pretrained vectors, settings
that follow the data), which the real flow trains once per test run on the bundled reviews and
publishes as a bundle; the tests read it back the way users do (SentimentPredictor).

The sentences are written for product reviews, the data the model learns from. Thresholds are
set so that a model that learned sentiment passes and a model that did not fails: an untrained
or label-shuffled model scores near 0.5 on everything and fails the minimum-functionality and
direction tests."""
from pathlib import Path

import numpy as np
import pytest

from flows.config import SentimentConfig
from flows.sentiment import sentiment_training
from lstm_models.predict import SentimentPredictor

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parents[2] / "data" / "amazon_polarity_head6459.ft.txt.bz2"
DEFAULT = {"preprocess": {"processes": 1}, "gate": {"baseline": "naive"}}  # the default model; published whatever the gate


@pytest.fixture(scope="module")
def model(prefect_api, tmp_path_factory) -> SentimentPredictor:
    out = tmp_path_factory.mktemp("behaviour")
    summary = sentiment_training(data=str(DATA), config=SentimentConfig.model_validate(DEFAULT), output=str(out))
    assert summary["metrics"]["accuracy"] > 0.75, summary["metrics"]
    return SentimentPredictor.load(summary["bundle"])


def scores(model, texts):
    return model.predict(texts)[1]  # the positive-class probability


POSITIVE = [
    "This is a great product, I love it.",
    "Excellent quality and it works perfectly. Highly recommended!",
    "The best book I have read this year, a wonderful story.",
    "Great value for the money, I would buy it again.",
    "Works great, easy to use and my kids love it.",
]
NEGATIVE = [
    "This is a terrible product, I hate it.",
    "Poor quality and it stopped working. Do not buy this!",
    "The worst book I have read this year, a boring waste of time.",
    "A complete waste of money, I want a refund.",
    "Broke after two days, very disappointed and it was useless.",
]


# plain short sentences: the kind that failed before issue 19 ("I love this book." scored 0.23)
SHORT_POSITIVE = ["I love this book.", "Great product.", "I love it!", "Highly recommended.", "Works perfectly."]
SHORT_NEGATIVE = ["I hate this book.", "Terrible product.", "I hate it!", "Waste of money.", "It does not work."]


@pytest.mark.parametrize("positive,negative", [(POSITIVE, NEGATIVE), (SHORT_POSITIVE, SHORT_NEGATIVE)],
                         ids=["sentences", "short sentences"])
def test_minimum_functionality_plain_positive_and_negative_sentences(model, positive, negative):
    pos, neg = scores(model, positive), scores(model, negative)
    assert (pos > 0.5).all(), dict(zip(positive, pos.round(3)))
    assert (neg < 0.5).all(), dict(zip(negative, neg.round(3)))


SWAPS = [  # a review and the same review with a name, a number or a product noun changed
    ("John bought this blender for his wife and she loves it.", "Maria bought this blender for her husband and he loves it."),
    ("I have used it for 3 months and it still works great.", "I have used it for 11 months and it still works great."),
    ("This toaster is great, I love it.", "This kettle is great, I love it."),
    ("The camera broke after a week, a waste of money.", "The printer broke after a week, a waste of money."),
    ("Sarah said the story was boring and badly written.", "Ahmed said the story was boring and badly written."),
    ("Paid $20 and it was worth every penny.", "Paid $45 and it was worth every penny."),
]


def test_invariance_names_numbers_and_product_nouns_do_not_flip_the_label(model):
    a = scores(model, [s for s, _ in SWAPS])
    b = scores(model, [t for _, t in SWAPS])
    assert ((a > 0.5) == (b > 0.5)).all(), list(zip(SWAPS, a.round(3), b.round(3)))
    assert np.abs(a - b).max() < 0.25, list(zip(SWAPS, a.round(3), b.round(3)))


DIRECTION = [  # (text, changed text): the change must lower the positive score
    ("I would recommend this to my friends.", "I would not recommend this to my friends."),
    ("This is a great product.", "This is not a great product."),
    ("It works well and looks nice.", "It works well and looks nice, but it broke after a week."),
    ("Great sound and easy to set up.", "Great sound and easy to set up, but it broke after a week."),
    ("I love this book.", "I love this book, but the ending was a waste of time."),
]


def test_direction_a_negation_or_a_complaint_lowers_the_score(model):
    before = scores(model, [a for a, _ in DIRECTION])
    after = scores(model, [b for _, b in DIRECTION])
    assert (after < before).all(), list(zip(DIRECTION, before.round(3), after.round(3)))
    assert (before - after).mean() > 0.1, list(zip(DIRECTION, before.round(3), after.round(3)))
