"""Content-addressed stage outputs and the Prefect cache keys that point at them.

Every cached stage writes into `<output>/work/<stage>/<key>/`, where the key is a hash of the
stage's input *content* (file bytes or upstream keys), the parameters that matter and the
code of the stage. The Prefect cache key is derived from the same key, so a renamed input hits
the cache, an edited one misses, and a cache hit whose folder was deleted runs again
(`refresh_cache`) instead of handing a dead path downstream.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from prefect import Task, task
from prefect.states import State

DONE = "_SUCCESS"
_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Streaming hash of a file's bytes (never reads it whole)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def json_sha256(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def code_version(*modules: ModuleType) -> str:
    """Hash of the source files that implement a stage: editing them invalidates its cache."""
    h = hashlib.sha256()
    for mod in modules:
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()[:16]


def stage_key(stage: str, **parts) -> str:
    return json_sha256({"stage": stage, **parts})[:20]


def stage_dir(root: str | Path, stage: str, key: str) -> Path:
    return Path(root) / "work" / stage / key


def is_complete(out_dir: str | Path) -> bool:
    return (Path(out_dir) / DONE).is_file()


def checkpoint_for(out_dir: str | Path) -> Path:
    """Where a long stage keeps resumable state while it runs: beside its folder, named by its
    key, so a re-run after a crash finds it; `staging` removes it once the stage completes."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + ".ckpt")


@contextmanager
def staging(out_dir: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it is renamed to out_dir with a completion marker,
    so a crash never leaves a folder that looks complete."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield tmp
        (tmp / DONE).write_text("ok\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.rename(tmp, out_dir)
        checkpoint_for(out_dir).unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cache_key(context, parameters) -> str:
    return parameters["cache_key"]


def cached_task(fn=None, **options) -> Task:
    """@task whose results persist as JSON under a key the flow computes from content."""
    def wrap(f):
        return task(
            f, cache_key_fn=_cache_key, persist_result=True, result_serializer="json", **options
        )
    return wrap(fn) if fn is not None else wrap


@dataclass
class StageRun:
    result: dict
    key: str
    cached: bool


def run_cached(stage_task: Task, root: str | Path, stage: str, parts: dict, **kwargs) -> StageRun:
    """Run a cached stage task keyed on `parts` (content hashes, parameters, code version)."""
    key = stage_key(stage, **parts)
    out_dir = stage_dir(root, stage, key)
    cache_key = f"{stage}-{key}-{json_sha256(str(out_dir.resolve()))[:10]}"
    state: State = stage_task.with_options(refresh_cache=not is_complete(out_dir))(
        out_dir=str(out_dir), cache_key=cache_key, return_state=True, **kwargs
    )
    result = state.result()  # re-raises the task's exception if it failed
    return StageRun(result, key, state.name == "Cached")
