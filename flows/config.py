"""Loading a pipeline's config from YAML/JSON, or by name from flows/configs/. The config types
themselves live beside the stages that use them (tasks/<pipeline>/config.py)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from tasks.forecast.config import ForecastConfig
from tasks.sentiment.config import SentimentConfig
from tasks.shared.errors import ConfigError

__all__ = ["CONFIG_DIR", "ForecastConfig", "SentimentConfig", "load_config"]

CONFIG_DIR = Path(__file__).parent / "configs"


def load_config(cls: type[BaseModel], source: str | Path | None, kind: str) -> BaseModel:
    """A config from a YAML/JSON file, or a named config shipped in flows/configs
    (`article` -> `<kind>-article.yaml`); None gives `<kind>-default.yaml`."""
    if source is None:
        source = "default"
    path = Path(source)
    if not path.exists():
        named = CONFIG_DIR / f"{kind}-{source}.yaml"
        if not named.exists():
            known = sorted(p.stem.removeprefix(f"{kind}-") for p in CONFIG_DIR.glob(f"{kind}-*.yaml"))
            raise ConfigError(f"{source}: no such config file, and not a named config ({', '.join(known)})")
        path = named
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())  # YAML errors span lines; the CLI prints one
        raise ConfigError(f"{path}: cannot read config ({detail})") from None
    try:
        return cls.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: invalid config: {problems}") from None
