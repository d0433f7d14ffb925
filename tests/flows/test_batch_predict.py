"""Batch prediction: the champion by default (or a named version), predictions in Parquet with
the model version on every row, and clear errors when there is no model to use."""
import pandas as pd
import pytest

from flows.config import SentimentConfig
from flows.predict import batch_prediction
from flows.sentiment import sentiment_training
from tasks.shared.registry import RegistryError

pytestmark = pytest.mark.slow
TINY = {"preprocess": {"seq_len": 60, "processes": 1}, "model": {"embedding_dim": 16, "hidden_size": 16},
        "train": {"epochs": 1}, "validation": {"min_rows_per_class": 5}}


@pytest.fixture(scope="module")
def registry(prefect_api, tmp_path_factory, review_lines):
    work = tmp_path_factory.mktemp("batch")
    data = work / "reviews.ft.txt"
    data.write_text("\n".join(review_lines[:400]) + "\n")
    summary = sentiment_training(data=str(data), config=SentimentConfig.model_validate(TINY), output=str(work / "out"),
                                 force=True)
    return str(work / "out" / "registry"), summary


def test_champion_predictions_carry_the_model_version(registry, tmp_path, review_lines):
    root, trained = registry
    texts = tmp_path / "new.txt"
    texts.write_text("\n".join(line.split(" ", 1)[1] for line in review_lines[1000:1050]) + "\n\n")
    result = batch_prediction(kind="sentiment", data=str(texts), registry=root, output=str(tmp_path / "pred"))
    frame = pd.read_parquet(result["predictions"])
    assert len(frame) == 50 == result["rows"]
    assert set(frame["model_version"]) == {trained["champion"]} == {result["version"]}
    assert frame["label"].isin([0, 1]).all() and frame["probability"].between(0, 1).all()
    assert frame["text"].iloc[0] == review_lines[1000].split(" ", 1)[1]


def test_lines_that_cannot_be_classified_are_rows_with_their_reason(registry, tmp_path):
    root, _ = registry
    texts = tmp_path / "new.txt"
    texts.write_text("Great value\n\nBroke after a day\n__label__1\nworks\n\n")
    result = batch_prediction(kind="sentiment", data=str(texts), registry=root, output=str(tmp_path / "pred"),
                              workers=2)
    frame = pd.read_parquet(result["predictions"])
    assert frame["line"].tolist() == [1, 2, 3, 4, 5] and result["rows"] == 5 and result["unclassified"] == 2
    assert frame["error"].fillna("").tolist() == ["", "blank line", "", "no text after the fastText label", ""]
    assert frame["label"].isna().tolist() == [False, True, False, True, False]
    assert frame.loc[frame["error"].isna(), "label"].isin([0, 1]).all()


def test_a_named_version_and_csv_input(registry, tmp_path):
    root, trained = registry
    csv = tmp_path / "new.csv"
    pd.DataFrame({"id": [1, 2], "body": ["Great value, works perfectly", "Broke after a day"]}).to_csv(csv, index=False)
    result = batch_prediction(kind="sentiment", data=str(csv), registry=root, version=trained["version"],
                              output=str(tmp_path / "pred"), text_column="body")
    assert pd.read_parquet(result["predictions"])["model_version"].tolist() == [trained["version"]] * 2


def test_no_champion_or_unknown_version_is_a_clear_error(registry, tmp_path):
    root, _ = registry
    with pytest.raises(RegistryError, match="no sentiment champion yet"):
        batch_prediction(kind="sentiment", data="data/SBUX.csv", registry=str(tmp_path / "empty"))
    with pytest.raises(RegistryError, match="no complete sentiment version 'v0099'"):
        batch_prediction(kind="sentiment", data="data/SBUX.csv", registry=root, version="v0099")
