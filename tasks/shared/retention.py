"""Retention: a year of nightly runs must not fill the disk or the bucket.

- Registry versions: `prune_versions` keeps the newest N complete versions, the champion and
  every version on its rollback history, and removes the rest (incomplete folders of a publish
  in progress are left alone).
- Stage folders (`<output>/work/<stage>/<key>`) and token shards (`<output>/work/token-shards/`):
  every run records its start in `<output>/work/runs.jsonl` and marks each folder it uses or
  reuses (its modification time is set to the moment of use), so `prune_work` removes the folders
  none of the last N runs used, and with an age limit those last used longer ago than that.

Both return what they removed (or, with dry_run, what they would remove) and remove nothing else.
"""
from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from .registry import Registry

RUNS = "runs.jsonl"
SHARDS = "token-shards"


def prune_versions(reg: Registry, kind: str, keep: int, dry_run: bool = False, protect: tuple[str, ...] = ()) -> dict:
    """Remove all but the newest `keep` complete versions, never the champion, its rollback
    history or a version in `protect` (the run's own). {"kept": [...], "removed": [...]}."""
    versions = reg.versions(kind)
    pointer, damaged = reg.pointer(kind)
    if damaged:  # nothing can be known to be unprotected
        return {"kind": kind, "kept": versions, "removed": [], "dry_run": dry_run,
                "skipped": f"{damaged}: repair the pointer first"}
    protected = ({pointer["version"], *pointer.get("previous", [])} if pointer else set()) | set(protect)
    newest = set(versions[-keep:]) if keep > 0 else set()
    removed = [v for v in versions if v not in newest and v not in protected]
    if not dry_run:
        for version in removed:
            reg.fs.rm(reg.version_dir(kind, version), recursive=True)
    return {"kind": kind, "kept": [v for v in versions if v not in removed], "removed": removed, "dry_run": dry_run}


# -- stage folders -----------------------------------------------------------------------------------
def record_run(output: str | Path, run_id: str | None = None) -> None:
    """Note a run's start in <output>/work/runs.jsonl (what `keep_runs` counts)."""
    work = Path(output) / "work"
    work.mkdir(parents=True, exist_ok=True)
    with open(work / RUNS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"started": time.time(), "run": run_id}) + "\n")


def _runs(work: Path) -> list[float]:
    path = work / RUNS
    if not path.is_file():
        return []
    starts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            starts.append(float(json.loads(line)["started"]))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut off by a crash
    return sorted(starts)


def prune_work(output: str | Path, keep_runs: int | None = None, max_age_days: float | None = None,
               dry_run: bool = False, now: float | None = None) -> dict:
    """Remove stage folders, checkpoints and token shards under <output>/work that none of the
    last `keep_runs` runs used, and (with max_age_days) those last used longer ago than that."""
    work = Path(output) / "work"
    now = time.time() if now is None else now
    starts = _runs(work)
    cutoff = -float("inf")
    if keep_runs is not None and len(starts) >= keep_runs:
        cutoff = starts[-keep_runs] - 1.0  # a second of slack for clocks that round
    if max_age_days is not None:
        cutoff = max(cutoff, now - max_age_days * 86400)
    removed, freed = [], 0
    if cutoff == -float("inf") or not work.is_dir():
        return {"output": str(output), "removed": [], "bytes": 0, "dry_run": dry_run, "runs": len(starts)}

    def stale(entry: Path) -> bool:  # hidden: a stage being written; recent: used by a kept run
        return not entry.name.startswith(".") and entry.stat().st_mtime < cutoff

    def remove(entry: Path) -> None:
        nonlocal freed
        freed += sum(f.stat().st_size for f in entry.rglob("*") if f.is_file()) if entry.is_dir() else entry.stat().st_size
        removed.append(str(entry.relative_to(work)))
        if not dry_run:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    for stage in sorted(p for p in work.iterdir() if p.is_dir() and p.name != SHARDS):
        for entry in sorted(stage.iterdir()):
            if stale(entry):
                remove(entry)
    # a token shard stays while a kept tokenize folder came from it (appended rows re-tokenize only new shards)
    gone, wanted = set(removed), set()
    for listing in (work / "tokenize").glob("*/shards.json"):
        if str(listing.parent.relative_to(work)) not in gone:
            wanted.update(json.loads(listing.read_text()))
    for entry in sorted((work / SHARDS).iterdir()) if (work / SHARDS).is_dir() else []:
        if entry.name not in wanted and stale(entry):
            remove(entry)
    return {"output": str(output), "removed": removed, "bytes": freed, "dry_run": dry_run, "runs": len(starts),
            "cutoff": datetime.fromtimestamp(cutoff, UTC).isoformat(timespec="seconds")}


def apply_retention(retention, output: str | Path, registry: str, kind: str, version: str | None = None) -> dict | None:
    """The config's retention section after a completed run (whose own version stays); None
    when it asks for nothing."""
    if retention.keep_versions is None and retention.keep_runs is None and retention.max_age_days is None:
        return None
    out = {}
    if retention.keep_versions is not None:
        out["versions"] = prune_versions(Registry(registry), kind, retention.keep_versions,
                                         protect=(version,) if version else ())
    if retention.keep_runs is not None or retention.max_age_days is not None:
        out["work"] = prune_work(output, retention.keep_runs, retention.max_age_days)
    return out
