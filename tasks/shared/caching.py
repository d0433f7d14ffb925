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

A completed folder also keeps the task's result (`_result.json`, paths relative to the output
folder), so a complete folder is reused even where Prefect has no record of it. With a shared
cache (`cache.shared: s3://...` in a config, opened by the flow's `execution`), every completed folder is
mirrored there, and a host that lacks a folder copies it from there before the stage runs: two
workers in different working directories (or on different machines) compute each stage once.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import inspect
import json
import os
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import fsspec
from prefect import Task, task
from prefect.cache_policies import CachePolicy
from prefect.logging import get_run_logger
from prefect.states import Completed
from pydantic import BaseModel

from lstm_models.atomic import atomic_folder

from .hashing import json_sha256
from .locks import prefect_lock
from .results import StageResult, as_json
from .runners import active_runner, shared_cache

DONE = "_SUCCESS"
RESULT = "_result.json"
OUTPUT = "<output>"  # stands for the output folder in a stored result
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


def mark_used(folder: str | Path) -> None:
    """A stage folder or token shard a run used or reused: its modification time becomes now
    (what retention, tasks/shared/retention.py, reads as its last use)."""
    try:
        os.utime(folder)
    except FileNotFoundError:
        pass


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
    with atomic_folder(out_dir, replace=True) as tmp:
        yield tmp
        (tmp / DONE).write_text("ok\n")
    checkpoint_for(out_dir).unlink(missing_ok=True)


def write_stage_json(out_dir: str | Path, name: str, obj) -> str:
    """A stage whose whole output is one JSON file: written through staging, its path returned."""
    with staging(out_dir) as tmp:
        (tmp / name).write_text(json.dumps(obj, indent=2, default=str))
    return str(Path(out_dir) / name)


def _relocate(value, old: str, new: str):
    if isinstance(value, dict):
        return {k: _relocate(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_relocate(v, old, new) for v in value]
    if isinstance(value, str) and value.startswith(old + "/"):
        return new + value[len(old):]
    return value


def _root_of(out_dir: str | Path) -> str:
    return str(Path(out_dir).parents[2])  # <root>/work/<stage>/<key>


def write_result(out_dir: str | Path, result) -> None:
    """Keep a stage's result in its completed folder, output paths written relative to the
    output folder (a result that is not plain JSON is not kept: the stage then re-runs where
    Prefect has no record of it)."""
    if not is_complete(out_dir):
        return
    try:
        text = json.dumps(_relocate(as_json(result), _root_of(out_dir), OUTPUT))
    except (TypeError, ValueError):
        return
    (Path(out_dir) / RESULT).write_text(text)


def read_result(out_dir: str | Path, kind=None):
    """The result kept in a complete folder, its paths under this host's output folder (as
    `kind`, a StageResult class, when given); None when the folder is incomplete or keeps no result."""
    path = Path(out_dir) / RESULT
    if not (is_complete(out_dir) and path.is_file()):
        return None
    return typed(_relocate(json.loads(path.read_text()), OUTPUT, _root_of(out_dir)), kind)


def result_type(fn):
    """The StageResult class a stage function returns, or None (a path or a report dict)."""
    hint = typing.get_type_hints(fn).get("return")
    return hint if isinstance(hint, type) and issubclass(hint, StageResult) else None


def typed(value, kind):
    """A stage's result as its declared type (Prefect's JSON restores the class; a folder's
    `_result.json` holds plain JSON)."""
    return kind.from_json(value) if kind is not None and isinstance(value, dict) else value


# -- the cache shared between hosts --------------------------------------------------------------
def _shared_dir(url: str, stage: str, key: str) -> str:
    return f"{url}/work/{stage}/{key}"


def pull_stage(url: str, stage: str, key: str, out_dir: Path) -> bool:
    """Copy a stage folder another host completed (its result is written last, so a folder with
    one is whole) into out_dir; False when the shared cache does not have it."""
    fs, base = fsspec.core.url_to_fs(_shared_dir(url, stage, key), use_listings_cache=False)  # other hosts write too
    if not fs.exists(f"{base}/{RESULT}"):
        return False
    with staging(out_dir) as tmp:
        for remote in fs.find(base):
            rel = remote[len(base) + 1:]
            if rel != DONE:
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(remote, str(tmp / rel))
    return True


def push_stage(url: str, stage: str, key: str, out_dir: Path) -> bool:
    """Mirror a completed stage folder to the shared cache unless a host already did; its result
    goes last. Hosts that finish the same stage at once take turns (a lock on the Prefect server),
    so a shared folder never mixes two runs' files. False when there was nothing to push."""
    if not (Path(out_dir) / RESULT).is_file():
        return False
    fs, base = fsspec.core.url_to_fs(_shared_dir(url, stage, key), use_listings_cache=False)  # other hosts write too
    if fs.exists(f"{base}/{RESULT}"):  # mirrored before (the usual case on a cache hit): no lock to take
        return False
    with prefect_lock(f"lstm-stage-cache-{json_sha256(url)[:10]}"):
        if fs.exists(f"{base}/{RESULT}"):
            return False
        files = sorted(p for p in Path(out_dir).rglob("*") if p.is_file() and p.name != RESULT)
        for path in [*files, Path(out_dir) / RESULT]:
            target = f"{base}/{path.relative_to(out_dir).as_posix()}"
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)  # a folder on a local disk; nothing on object stores
            fs.put_file(str(path), target)
    return True


def stage_location(stage: str, ignores: tuple[str, ...], code: str, root: str | Path, inputs: dict) -> tuple[str, Path]:
    """(key, folder) of a stage run: the key hashes the stage's inputs (minus `ignores`) and its
    code; the folder is `<root>/work/<stage>/<key>`. The flow (before the run: a folder to pull
    or refresh), Prefect's cache policy and the task itself (where to write) all ask this."""
    parts = {name: key_value(value, str(root)) for name, value in inputs.items()}
    for dotted in ignores:
        _drop(parts, dotted)
    key = stage_key(stage, inputs=parts, code=code)
    return key, stage_dir(root, stage, key)


def _stage_inputs(signature: inspect.Signature, *args, **kwargs) -> tuple[str, dict]:
    """(output folder, the stage's own inputs, defaults filled in) of a stage task's call."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    rest = dict(bound.arguments)
    return rest.pop("output"), rest


@dataclass
class StageFolderPolicy(CachePolicy):
    """Prefect's cache key of a stage task run: its folder, `<output>/work/<stage>/<key>`, whose
    key covers the stage's inputs and code (stage_location), and where that folder is on this
    host (so an output folder elsewhere never hands back a path that is not there)."""

    stage: str = ""
    ignores: tuple[str, ...] = ()

    def compute_key(self, task_ctx, inputs: dict, flow_parameters: dict, **kwargs) -> str:
        fn = task_ctx.task.fn
        root, own = _stage_inputs(inspect.signature(fn), **inputs)
        key, out_dir = stage_location(self.stage, self.ignores, code_version(fn), root, own)
        return f"{self.stage}-{key}-{json_sha256(str(out_dir.resolve()))[:10]}"


def cached_task(fn=None, *, stage: str, ignore: tuple[str, ...] = (), **options) -> Task:
    """@task over a stage function `f(..., out_dir)`: the task takes f's inputs and `output` (the
    flow's output folder) instead of out_dir, and runs f in the stage folder its inputs name
    (stage_location), keeping its result there as JSON.

    stage: the folder name under <output>/work/; ignore: arguments (or config fields, dotted:
    "preprocess.processes") that do not change the result, so they stay out of the key (the input
    file's path: a renamed file is the same content)."""
    def wrap(f):
        signature = inspect.signature(f)
        params = [p for name, p in signature.parameters.items() if name != "out_dir"]
        params.append(inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, annotation=str))

        returns = result_type(f)

        @functools.wraps(f)
        def reusing(*args, **kwargs):
            root, own = _stage_inputs(reusing.__signature__, *args, **kwargs)
            _, out_dir = stage_location(stage, tuple(ignore), code_version(f), root, own)
            stored = read_result(out_dir, returns)
            if stored is not None:  # a folder from disk or the shared cache: Cached, as Prefect's own hits show
                get_run_logger().info("reused the complete stage folder %s", out_dir)
                return Completed(name="Cached", data=stored, message=f"reused the complete stage folder {out_dir}")
            result = f(**own, out_dir=str(out_dir))
            write_result(out_dir, result)
            return result

        reusing.__signature__ = signature.replace(parameters=params)
        t = task(reusing, cache_policy=StageFolderPolicy(stage=stage, ignores=tuple(ignore)), persist_result=True, result_serializer="json", **options)
        t.stage, t.key_ignores, t.result_type = stage, tuple(ignore), returns
        return t
    return wrap(fn) if fn is not None else wrap


@dataclass(frozen=True)
class StageRun:
    """One stage of a flow run: its result (the stage's StageResult, a path or a report), key,
    whether it was reused (Cached) and its code version."""

    result: typing.Any
    key: str
    cached: bool
    code: str

    @classmethod
    def all_of(cls, runs: list["StageRun"], key: str, result=None) -> "StageRun":
        """One stage made of many runs (one a file, then maybe a combining run): cached when every run was."""
        return cls(result, key, all(r.cached for r in runs), runs[-1].code)


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
    if isinstance(value, StageResult):
        return key_value(value.to_json(), root)
    if isinstance(value, dict):
        return {str(k): key_value(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [key_value(v, root) for v in value]
    if isinstance(value, (str, Path)) and str(value).startswith(root.rstrip("/") + "/"):
        return f"{OUTPUT}/" + str(value)[len(root.rstrip("/")) + 1:]
    return value


def run_stage(stage_task: Task, root: str | Path, **inputs) -> StageRun:
    """Run a cached stage task with these inputs. Its key covers every input (minus the task's
    `key_ignores`) and its code version (see code_version)."""
    return run_stages(stage_task, root, [inputs])[0]


def run_stages(stage_task: Task, root: str | Path, calls: list[dict]) -> list[StageRun]:
    """One cached stage over many inputs (one call per file): on the active task runner
    (tasks/shared/runners.py) at once when there is one, else one after another; results in
    the order of calls."""
    code = code_version(stage_task)
    shared = shared_cache()
    planned = []
    for inputs in calls:
        _, own = _stage_inputs(inspect.signature(stage_task.fn), **inputs, output=str(root))
        key, out_dir = stage_location(stage_task.stage, stage_task.key_ignores, code, root, own)
        pulled = bool(shared) and not is_complete(out_dir) and pull_stage(shared, stage_task.stage, key, out_dir)
        planned.append((key, out_dir, pulled, stage_task.with_options(refresh_cache=not is_complete(out_dir)),
                        {**inputs, "output": str(root)}))
    runner = active_runner()
    if runner is not None and len(planned) > 1:
        futures = [runner.submit(t, parameters=params) for _, _, _, t, params in planned]
        for f in futures:
            f.wait()
        states = [f.state for f in futures]
    else:
        states = [t(return_state=True, **params) for _, _, _, t, params in planned]
    runs = []
    for (key, out_dir, pulled, _, _), state in zip(planned, states):
        result = typed(state.result(), stage_task.result_type)  # re-raises the task's exception if it failed
        if shared and not pulled:
            push_stage(shared, stage_task.stage, key, out_dir)
        mark_used(out_dir)
        runs.append(StageRun(result, key, state.name == "Cached" or pulled, code))
    return runs
