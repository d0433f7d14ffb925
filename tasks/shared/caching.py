"""Content-addressed stage outputs and the Prefect cache keys that point at them.

Every cached stage writes into `<output>/work/<stage>/<key>/`, where the key is a hash of the
arguments the flow calls the stage with (content hashes, upstream outputs, which live in folders
named by their own keys, and config sections) and of the stage's code. The Prefect cache key is
derived from the same key, so a renamed input hits the cache, an edited one misses, and a cache
hit whose folder was deleted runs again (`refresh_cache`) instead of handing a dead path
downstream.

The code version is derived, not listed: the stage's module and every project module it imports,
transitively (imports inside functions included), read from the source. Editing any of them
re-runs the stage; editing a module it does not reach keeps its cache hit.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
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
from pydantic import BaseModel

from .hashing import json_sha256

DONE = "_SUCCESS"
PROJECT_PACKAGES = ("tasks", "lstm_models")  # what a stage's code version covers (flows only wire stages)


def _project_file(name: str) -> Path | None:
    if name.split(".")[0] not in PROJECT_PACKAGES:
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


@functools.cache
def _imported(name: str) -> tuple[str, ...]:
    """Project modules that module `name` imports anywhere in its source (top level or inside
    functions; `from pkg import sub` counts pkg.sub when sub is a module)."""
    path = _project_file(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return tuple(sorted(m for m in found if m and _project_file(m)))


def code_modules(*objs) -> list[str]:
    """The project modules behind objs (modules, functions or Prefect tasks) and everything they
    import from the project, transitively, sorted."""
    todo = [o.__name__ if isinstance(o, ModuleType) else getattr(o, "fn", o).__module__ for o in objs]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen and _project_file(name):
            seen.add(name)
            todo.extend(_imported(name))
    return sorted(seen)


def code_version(*objs) -> str:
    """Hash of the source of every module in code_modules(*objs): editing any of them
    invalidates the cached results of the stage."""
    h = hashlib.sha256()
    for name in code_modules(*objs):
        h.update(f"{name}\0".encode())
        h.update(_project_file(name).read_bytes())
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


def write_stage_json(out_dir: str | Path, name: str, obj) -> str:
    """A stage whose whole output is one JSON file: written through staging, its path returned."""
    with staging(out_dir) as tmp:
        (tmp / name).write_text(json.dumps(obj, indent=2, default=str))
    return str(Path(out_dir) / name)


def _cache_key(context, parameters) -> str:
    return parameters["cache_key"]


def cached_task(fn=None, *, stage: str, ignore: tuple[str, ...] = (), **options) -> Task:
    """@task whose results persist as JSON under a key `run_stage` computes from its arguments.

    stage: the folder name under <output>/work/; ignore: arguments (or config fields, dotted:
    "preprocess.workers") that do not change the result, so they stay out of the key (the input
    file's path: a renamed file is the same content)."""
    def wrap(f):
        t = task(f, cache_key_fn=_cache_key, persist_result=True, result_serializer="json", **options)
        t.stage, t.key_ignores = stage, tuple(ignore)
        return t
    return wrap(fn) if fn is not None else wrap


@dataclass
class StageRun:
    result: dict
    key: str
    cached: bool
    code: str


def _drop(value: dict, dotted: str) -> None:
    head, _, rest = dotted.partition(".")
    if rest and isinstance(value.get(head), dict):
        _drop(value[head], rest)
    elif not rest:
        value.pop(head, None)


def key_value(value, root: str):
    """An argument as it enters the key: config sections as their fields, paths inside the
    output folder relative to it (they name upstream keys), everything else as JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): key_value(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [key_value(v, root) for v in value]
    if isinstance(value, (str, Path)) and str(value).startswith(root.rstrip("/") + "/"):
        return "<output>/" + str(value)[len(root.rstrip("/")) + 1:]
    return value


def run_stage(stage_task: Task, root: str | Path, **inputs) -> StageRun:
    """Run a cached stage task with these inputs. Its key covers every input (minus the task's
    `key_ignores`) and its code version (see code_version)."""
    code = code_version(stage_task)
    parts = {name: key_value(value, str(root)) for name, value in inputs.items()}
    for dotted in stage_task.key_ignores:
        _drop(parts, dotted)
    key = stage_key(stage_task.stage, inputs=parts, code=code)
    out_dir = stage_dir(root, stage_task.stage, key)
    cache_key = f"{stage_task.stage}-{key}-{json_sha256(str(out_dir.resolve()))[:10]}"
    state: State = stage_task.with_options(refresh_cache=not is_complete(out_dir))(
        out_dir=str(out_dir), cache_key=cache_key, return_state=True, **inputs
    )
    result = state.result()  # re-raises the task's exception if it failed
    return StageRun(result, key, state.name == "Cached", code)
