"""One shape for the training settings and the model defaults: the config sections take the
library's defaults, and the one conversion to the training loop carries every shared field."""
import inspect
from dataclasses import fields

import pytest

from lstm_models.classifier import LSTMClassifier
from lstm_models.regressor import LSTMRegressor
from lstm_models.training import TrainConfig
from tasks.forecast.config import ForecastTrainSettings, RegressorConfig
from tasks.forecast.train import fit_config
from tasks.sentiment.config import ClassifierConfig, SentimentTrainSettings
from tasks.sequence.config import SequenceModelConfig
from tasks.shared.config import TrainSettings

# Where a pipeline's default differs from the library's on purpose (each says why where it is set).
PIPELINE_CHOICES = {(RegressorConfig, "skip"), (RegressorConfig, "quantiles"), (ClassifierConfig, "bag_buckets")}
FROM_DATA = {"embedding_dim", "hidden_size", "dropout"}  # the sentiment rules fill these (None in the config)


@pytest.mark.parametrize("section, model", [(RegressorConfig, LSTMRegressor), (ClassifierConfig, LSTMClassifier)])
def test_model_sections_take_the_library_defaults(section, model):
    signature = inspect.signature(model.__init__).parameters
    shared = [name for name in section.model_fields if name in signature]
    assert len(shared) >= 5
    for name in shared:
        if (section, name) in PIPELINE_CHOICES or (section is ClassifierConfig and name in FROM_DATA):
            continue
        assert section.model_fields[name].default == signature[name].default, name


def test_the_sequence_model_section_names_only_regressor_arguments():
    assert set(SequenceModelConfig.model_fields) <= set(inspect.signature(LSTMRegressor.__init__).parameters)


def test_train_settings_take_the_loop_defaults_and_convert_every_shared_field():
    loop = {f.name: f.default for f in fields(TrainConfig)}
    for name, field in TrainSettings.model_fields.items():
        assert field.default == loop[name], name
    settings = TrainSettings(epochs=3, batch_size=16, lr=1e-3, weight_decay=1e-4, clip=1.0, patience=5,
                             eval_every_steps=7, max_minutes=2.0, seed=5, device="cpu", amp=False)
    assert settings.loop_config() == TrainConfig(epochs=3, batch_size=16, lr=1e-3, weight_decay=1e-4, clip=1.0,
                                                 patience=5, eval_every_steps=7, max_minutes=2.0, seed=5,
                                                 device="cpu", amp=False)


def test_settings_the_rules_leave_empty_must_be_resolved_before_the_loop():
    with pytest.raises(ValueError, match="batch_size, epochs, lr, patience"):
        SentimentTrainSettings().loop_config()
    resolved = SentimentTrainSettings(lr=1e-3, epochs=3, batch_size=32, patience=2, processes=2).loop_config()
    assert (resolved.lr, resolved.epochs, resolved.batch_size, resolved.patience) == (1e-3, 3, 32, 2)


def test_forecast_loop_settings_follow_the_data():
    cfg = fit_config(5000, ForecastTrainSettings(weight_decay=1e-5, max_minutes=3.0))
    # 5,000 windows: batch 32, budget max(20 k, 50 x 5,000) = 250 k samples, ten validations over it
    assert (cfg.batch_size, cfg.max_samples, cfg.epochs, cfg.eval_every_steps) == (32, 250_000, 50, 781)
    assert (cfg.lr_schedule, cfg.weight_decay, cfg.max_minutes, cfg.patience) == ("onecycle", 1e-5, 3.0, 3)
    # the weight average's time constant is 5 % of the 7,813 planned steps: 390.65 steps
    assert cfg.ema_decay == pytest.approx(1 - 1 / 390.65)
    assert fit_config(5000, ForecastTrainSettings(average_weights=None)).ema_decay is None
