"""Training on several processes with DistributedDataParallel, started by the training itself.

`run_distributed(fn, processes, ...)` runs fn in `processes` processes joined in one process
group: this process is rank 0 (it keeps its callbacks: progress, logging), the others are
spawned and run fn with the same arguments. Backends: gloo on CPU, NCCL when every rank has a GPU
of its own (rank r uses cuda:r). Under torchrun (WORLD_SIZE and friends set), the group torchrun
made is used as it is.

Inside `fit` (lstm_models/training.py) each rank takes its share of every batch (the batches are
drawn from length buckets with one seeded generator, the same on every rank, so rank r's share
of a bucket is positions r, r+N, ...); DDP averages the gradients, so the updates are those of
one process on the whole batch. Validation is split across ranks and summed. Only rank 0 writes
the checkpoint and the outputs; a resumed run reads rank 0's checkpoint on every rank.
"""
from __future__ import annotations

import os
import socket
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def world() -> tuple[int, int]:
    """(rank, number of ranks) of this process; (0, 1) when not distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    return world()[0] == 0


def _backend(size: int) -> str:
    """NCCL when every rank has a GPU of its own, else gloo."""
    return "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= size else "gloo"


def world_size_wanted() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _join(rank: int, size: int, port: int) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(size), "LOCAL_RANK": str(rank)})
    backend = _backend(size)
    if backend == "gloo":  # one core a rank: ranks that each use every core only fight over them
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // size))
    dist.init_process_group(backend, rank=rank, world_size=size, timeout=timedelta(minutes=10))


def _rank_main(rank: int, size: int, port: int, fn, args: tuple, kwargs: dict) -> None:
    _join(rank, size, port)
    try:
        fn(*args, **kwargs)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_distributed(fn, processes: int, *args, main_kwargs: dict | None = None, **kwargs):
    """fn(*args, **kwargs) on `processes` ranks; returns rank 0's result. main_kwargs go to rank 0
    only (callbacks that cannot cross processes). processes 1 (and no torchrun): a plain call."""
    main_kwargs = main_kwargs or {}
    if dist.is_available() and dist.is_initialized():
        return fn(*args, **kwargs, **(main_kwargs if is_main() else {}))
    if world_size_wanted() > 1:  # started by torchrun: join its group
        dist.init_process_group(_backend(world_size_wanted()), timeout=timedelta(minutes=10))
        try:
            return fn(*args, **kwargs, **(main_kwargs if is_main() else {}))
        finally:
            dist.destroy_process_group()
    if processes <= 1:
        return fn(*args, **kwargs, **main_kwargs)
    port = _free_port()
    ctx = mp.get_context("spawn")
    children = [ctx.Process(target=_rank_main, args=(r, processes, port, fn, args, kwargs), daemon=False)
                for r in range(1, processes)]
    for child in children:
        child.start()
    threads, saved_env = torch.get_num_threads(), dict(os.environ)
    try:
        _join(0, processes, port)
        try:
            result = fn(*args, **kwargs, **main_kwargs)
        finally:
            dist.destroy_process_group()
    finally:
        for child in children:
            child.join(timeout=600)
            if child.is_alive():
                child.kill()
        torch.set_num_threads(threads)
        os.environ.clear()
        os.environ.update(saved_env)
    failed = [c.exitcode for c in children if c.exitcode]
    if failed:
        raise RuntimeError(f"a training process exited with code {failed[0]}")
    return result
