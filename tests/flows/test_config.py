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


def test_tokenizer_processes_keep_their_old_name_and_one_name_means_one_thing(tmp_path):
    """`preprocess.processes` (tokenizer processes) was `preprocess.workers`: configs written with
    the old name still load to the same setting, and nothing in a config is called `workers` any
    more (that name is the flows' and the CLI's: the runner's processes)."""
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text("preprocess: {workers: 1, seq_len: 60}\n")
    new.write_text("preprocess: {processes: 1, seq_len: 60}\n")
    assert load_config(SentimentConfig, old, "sentiment") == load_config(SentimentConfig, new, "sentiment")
    assert load_config(SentimentConfig, old, "sentiment").preprocess.processes == 1
    # a deployment's parameters are checked by the server against the flow's schema: both names pass
    import jsonschema
    from prefect.utilities.callables import parameter_schema

    from flows.sentiment import sentiment_training

    schema = parameter_schema(sentiment_training).model_dump_for_openapi()
    for name in ("processes", "workers"):
        jsonschema.validate({"config": {"preprocess": {name: 1}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"config": {"preprocess": {"procesess": 1}}}, schema)

    def names(value) -> set[str]:
        return set(value) | {n for v in value.values() if isinstance(v, dict) for n in names(v)} \
            if isinstance(value, dict) else set()
    assert "workers" not in names(SentimentConfig().model_dump()) | names(ForecastConfig().model_dump())
    with pytest.raises(ConfigError, match="preprocess.processes"):
        new.write_text("preprocess: {processes: -1}\n")
        load_config(SentimentConfig, new, "sentiment")
