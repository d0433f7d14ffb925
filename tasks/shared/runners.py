"""Where the per-file and per-shard work runs, chosen by configuration (`--runner`, or the flows'
`runner` parameter), with no change to the pipeline code:

- `local` (the default): as before: price files one after another, tokenization shards and
  prediction chunks in this host's private process pool (workers import only the tokenizer, so
  they start in a second, and shards carry no per-task API traffic).
- `dask`: a local Dask cluster of `workers` processes (prefect-dask's DaskTaskRunner);
  `tcp://HOST:PORT`: an existing Dask scheduler. Each file's ingest and validation, each
  tokenization shard and each prediction chunk is then a Prefect task run on the cluster, visible
  in the UI under its flow run.
- `processes`: Prefect's own ProcessPoolTaskRunner with `workers` processes (one machine, every
  shard a task run in the UI).

Each flow opens its execution once per run, explicitly (`with execution(runner, workers,
shared_cache)`): the task runner and the stage cache shared between hosts (a config's
`cache.shared`). Stages read them here (`active_runner`, `shared_cache`), map their work over
the runner in input order (`ordered_map`), so outputs are the same bytes whichever runner ran
them; both are reset when the run ends, so nothing leaks into the next flow run of the process.
"""
from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Annotated

from pydantic import Field

from .errors import ConfigError

_ACTIVE: ContextVar[object | None] = ContextVar("task_runner", default=None)
_SHARED: ContextVar[str | None] = ContextVar("shared_stage_cache", default=None)
RUNNER_HELP = ("Where per-file and per-shard work runs: local (default: this process and a private pool), dask (a local "
               "Dask cluster of --workers processes), tcp://HOST:PORT (an existing Dask scheduler), processes (Prefect's "
               "process pool).")


RUNNER_PATTERN = r"^(local|dask|processes|tcp://[^\s/:]+(:\d+)?)$"
# A flow parameter's type: the run form and the API refuse anything else before the run starts.
Runner = Annotated[str, Field(pattern=RUNNER_PATTERN)] | None
Workers = Annotated[int, Field(ge=1)] | None


def check_runner(spec: str | None) -> str:
    spec = (spec or "local").strip()
    if re.match(RUNNER_PATTERN, spec):
        return spec
    raise ConfigError(f"runner: expected local, dask, processes or tcp://HOST:PORT, got {spec!r}")


def make_runner(spec: str | None, workers: int | None):
    """A Prefect task runner for spec (None for local)."""
    spec = check_runner(spec)
    n = workers or os.cpu_count() or 1
    if spec == "local":
        return None
    if spec == "processes":
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=n)
    import logging

    from prefect_dask import DaskTaskRunner

    logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines (every worker's start) drown the run's log
    if spec == "dask":
        # one thread a worker: tokenization and GX hold the GIL, so processes are what scale
        return DaskTaskRunner(cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True,
                                              "dashboard_address": None})
    return DaskTaskRunner(address=spec)


@contextmanager
def execution(runner: str | None = None, workers: int | None = None,
              shared_cache: str | None = None) -> Iterator[object | None]:
    """How this flow run executes its stages, for its duration: `runner` (local, dask,
    tcp://HOST:PORT, processes) with `workers` processes, and `shared_cache`, an fsspec URL every
    worker reaches that completed stage folders are mirrored to (tasks/shared/caching.py), or
    None. Yields the task runner (None for local)."""
    task_runner = make_runner(runner, workers)
    with task_runner if task_runner is not None else nullcontext():
        active = _ACTIVE.set(task_runner)
        shared = _SHARED.set(shared_cache.rstrip("/") if shared_cache else None)
        try:
            yield task_runner
        finally:
            _SHARED.reset(shared)
            _ACTIVE.reset(active)


def active_runner():
    return _ACTIVE.get()


def shared_cache() -> str | None:
    """The shared stage cache of this flow run (None: stage folders stay on this host)."""
    return _SHARED.get()


def ordered_map(runner, task, calls: Iterable[dict], window: int) -> Iterator:
    """task(**kwargs) for each kwargs on the runner, results in input order, at most `window`
    in flight (so a long input is never all submitted at once). A failed call raises its error."""
    pending: deque = deque()
    for kwargs in calls:
        pending.append(runner.submit(task, parameters=kwargs))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def runner_workers(runner) -> int:
    """How many calls the runner runs at once (for the in-flight window)."""
    n = getattr(runner, "_max_workers", None) or getattr(runner, "max_workers", None)
    if n:
        return int(n)
    try:
        return max(1, len(runner.client.scheduler_info().get("workers", {})))
    except Exception:
        return os.cpu_count() or 1


def call_kwargs(fn, args: tuple) -> dict:
    """fn's positional arguments as keyword arguments (what a task runner submits)."""
    import inspect

    return dict(inspect.signature(fn).bind(*args).arguments)


_TASKS: dict = {}


def shard_task(fn):
    """A plain function as a Prefect task run per call (`tokenize-shard`, `score-texts`, ...):
    no cache and no persisted result (the stage around it is the cached unit)."""
    if fn not in _TASKS:
        from prefect import task
        from prefect.cache_policies import NO_CACHE

        _TASKS[fn] = task(fn, name=fn.__name__.replace("_", "-"), cache_policy=NO_CACHE, persist_result=False)
    return _TASKS[fn]


class ShardMap:
    """fn over shards (or chunks), results in input order: as task runs on the active task runner
    when a flow configured one, else in a private pool of `workers` spawned processes, else here
    (workers 1). At most two shards a worker are in flight, so an input is never all held at once
    (Executor.map would submit everything up front). Used as a context manager."""

    def __init__(self, workers: int):
        self.tasks = active_runner()
        self.workers = max(1, workers)
        self.pool = None
        if self.tasks is None and self.workers > 1:
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_context

            # spawn: the parent may hold threads (torch's, Prefect's logging), which fork does not copy safely
            self.pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))

    @property
    def in_process(self) -> bool:
        return self.tasks is None and self.pool is None

    def imap(self, fn, args: Iterable[tuple]) -> Iterator:
        """fn(*a) for each a, in order."""
        if self.tasks is not None:
            yield from ordered_map(self.tasks, shard_task(fn), (call_kwargs(fn, a) for a in args),
                                   2 * runner_workers(self.tasks))
            return
        if self.pool is None:
            yield from (fn(*a) for a in args)
            return
        pending: deque = deque()
        for a in args:
            pending.append(self.pool.submit(fn, *a))
            if len(pending) >= 2 * self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def __enter__(self) -> "ShardMap":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
