import pytest

from flows.config import ForecastConfig, SentimentConfig, load_config
from tasks.shared.errors import ConfigError


@pytest.mark.parametrize("cls,kind", [(SentimentConfig, "sentiment"), (ForecastConfig, "forecast")])
def test_flow_default_parameters_equal_the_shipped_default_config(cls, kind):
    """A deployment run without parameters trains exactly what `train` does without --config."""
    assert cls() == load_config(cls, None, kind)


def test_named_configs_load_and_unknown_names_list_the_known_ones():
    article = load_config(SentimentConfig, "article", "sentiment")
    assert (article.model.hidden_size, article.model.num_layers, article.train.batch_size) == (512, 2, 400)
    with pytest.raises(ConfigError, match="article, default"):
        load_config(SentimentConfig, "nope", "sentiment")
