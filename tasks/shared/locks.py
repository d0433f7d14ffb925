"""Locks across hosts, held on the Prefect server every host's runs report to."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def prefect_lock(name: str, timeout_s: float = 1800):
    """A lock across hosts: one slot of a Prefect global concurrency limit (created on first use)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            except Exception:  # another host created it first
                client.read_global_concurrency_limit_by_name(name)
    with concurrency(name, occupy=1, timeout_seconds=timeout_s, strict=True):
        yield
