"""Model bundles: a folder of safetensors weights plus JSON and markdown, written atomically.

Loading never unpickles: weights are read with safetensors, everything else is JSON.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_folder
from .errors import UserError

WEIGHTS = "weights.safetensors"


class BundleError(UserError):
    """A bundle is missing, incomplete or unsafe to load."""


def write_bundle(
    target: Path,
    state_dict: dict[str, torch.Tensor],
    json_files: dict[str, object],
    text_files: dict[str, str] | None = None,
    copy_files: dict[str, Path] | None = None,
) -> Path:
    """Write the bundle into a temporary sibling folder, then rename it into place, so a reader
    never sees a partial bundle. `target` must not exist yet."""
    target = Path(target)
    if target.exists():
        raise BundleError(f"{target}: bundle already exists")
    with atomic_folder(target) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, str(tmp / WEIGHTS))
        for name, obj in json_files.items():
            (tmp / name).write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        for name, text in (text_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        for name, src in (copy_files or {}).items():
            shutil.copyfile(src, tmp / name)
    return target


def read_json(bundle: Path, name: str) -> dict:
    path = Path(bundle) / name
    if not path.is_file():
        raise BundleError(f"{bundle}: not a bundle ({name} is missing)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from None


def load_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{path}: refused, not a safetensors file ({exc}); bundles never load pickles") from None


def read_weights(bundle: Path) -> dict[str, torch.Tensor]:
    path = Path(bundle) / WEIGHTS
    if not path.is_file():
        raise BundleError(f"{bundle}: not a bundle ({WEIGHTS} is missing)")
    return load_safetensors(path)


def read_config(bundle: str | Path, kind: str) -> dict:
    """config.json of a bundle of the given kind (sentiment, forecast); clear errors otherwise."""
    bundle = Path(bundle)
    if not bundle.is_dir():
        raise BundleError(f"{bundle}: bundle folder not found")
    config = read_json(bundle, "config.json")
    if config.get("kind") != kind:
        raise BundleError(f"{bundle}: not a {kind} bundle (kind {config.get('kind')!r})")
    return config


def load_weights_into(model: torch.nn.Module, bundle: str | Path) -> torch.nn.Module:
    """Load the bundle's safetensors weights into a model built from its config.json."""
    try:
        model.load_state_dict(read_weights(Path(bundle)))
    except RuntimeError as exc:
        raise BundleError(f"{bundle}: weights do not match config.json ({str(exc).splitlines()[0]})") from None
    return model
