"""One exception root: every error raised for users derives from lstm_models.errors.UserError,
the one class the CLI turns into a line and exit code 2 (flows/cli/invoke.py invoke_flow)."""
import pytest

from lstm_models.bundle import BundleError, read_config
from lstm_models.errors import UserError
from lstm_models.vectors import VectorFileError
from tasks.shared.errors import ConfigError, DataError, PipelineError
from tasks.shared.registry import Registry, RegistryError, default_output, default_registry


@pytest.mark.parametrize("cls", [DataError, ConfigError, PipelineError, RegistryError, BundleError, VectorFileError])
def test_user_errors_share_the_root(cls):
    assert issubclass(cls, UserError)


def test_real_failures_raise_user_errors(tmp_path):
    with pytest.raises(UserError, match="no complete sentiment version"):
        Registry(str(tmp_path / "reg")).local_path("sentiment", "v0001")
    with pytest.raises(UserError):
        read_config(tmp_path, "sentiment")  # not a bundle


def test_the_default_registry_is_spelled_once():
    assert default_registry(default_output("forecast")) == "outputs/forecast/registry"
    assert default_registry("runs/x") == "runs/x/registry"
