"""A model registry on any fsspec filesystem (a local folder by default).

    <root>/<kind>/versions/v0001/   a complete bundle (weights, JSON, model card) + version.json
    <root>/<kind>/champion.json     {"version": ..., "promoted_at": ..., "reasons": [...],
                                     "previous": [earlier champions, oldest first]}
    <root>/<kind>/decisions/        every gate decision and manual promotion or rollback, one JSON file each

Each version records the SHA-256 of every file it holds (`files` in version.json), so
`verify` tells a damaged version (a file missing, truncated or changed) from a sound one, and
damage is reported, never a traceback: a damaged version is skipped by the commands that look
for one and named by those that need it; a damaged champion pointer stops what needs the
champion and says how to set it again (`registry promote`, which may replace it).

A reader never sees a partial version: on a local disk a version is assembled under a hidden
staging name and renamed into place (the rename also claims the version number, so runs that
publish at the same time get distinct numbers); on other filesystems (object stores have no
rename) the number is claimed by a conditional write of the version's version.json (S3's
If-None-Match, which MinIO honours too; fsspec's fallback elsewhere checks first, which is not
atomic), and the version's `_COMPLETE` marker is written last: versions without it are ignored.
Either way versions are named v0001, v0002, ... (registries that older releases wrote on object
storage also hold names like v0003-1a2b3c; they are read and ordered by their number).
The champion pointer is replaced in one step (os.replace, or one object put), and only ever
names a complete version. Prefect is imported only for the lock of a registry on object storage
(the predict CLI reads registries without it).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import fsspec

from lstm_models.atomic import atomic_file, atomic_folder, move_into_place, new_folder

from .errors import PipelineError
from .locks import prefect_lock

COMPLETE = "_COMPLETE"
VERSION_FILE = "version.json"
POINTER = "champion.json"
VERSION_NAME = re.compile(r"^v(\d{4,})(-[0-9a-f]+)?$")


def default_output(kind: str) -> str:
    """Where a kind's runs write by default (the CLI's and the flows' --output)."""
    return f"outputs/{kind}"


def default_registry(output: str | Path) -> str:
    """The registry a run or a command uses when none is given: <output>/registry (for a
    command without an output: default_registry(default_output(kind))). The one spelling of it."""
    return f"{output}/registry"


class RegistryError(PipelineError):
    """A registry, version or champion that cannot be found or used."""


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under a local folder, by its relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Registry:
    def __init__(self, root: str | Path):
        self.root = str(root)
        # no listings cache: another host publishes and promotes between this process's reads, and a
        # cached listing of versions/ would hide a version that champion.json already names
        self.fs, self.base = fsspec.core.url_to_fs(self.root, use_listings_cache=False)
        self.local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))

    # -- paths ------------------------------------------------------------------------------
    def kind_dir(self, kind: str) -> str:
        return f"{self.base.rstrip('/')}/{kind}"

    def version_dir(self, kind: str, version: str) -> str:
        return f"{self.kind_dir(kind)}/versions/{version}"

    def uri(self, kind: str, version: str) -> str:
        """Where a version lives, as the user would type it (a local path or a URL)."""
        path = self.version_dir(kind, version)
        return path if self.local else self.fs.unstrip_protocol(path)

    # -- versions ---------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        """Version-shaped folder names, complete or not (staging folders excluded)."""
        folder = f"{self.kind_dir(kind)}/versions"
        if not self.fs.exists(folder):
            return []
        return [n for p in self.fs.ls(folder, detail=False) if VERSION_NAME.match(n := p.rstrip("/").rsplit("/", 1)[-1])]

    def versions(self, kind: str) -> list[str]:
        """Complete versions, oldest first."""
        folder = f"{self.kind_dir(kind)}/versions"
        done = [n for n in self.names(kind) if self.fs.exists(f"{folder}/{n}/{COMPLETE}")]
        return sorted(done, key=lambda n: (int(VERSION_NAME.match(n).group(1)), n))

    def _next_number(self, kind: str) -> int:
        return max((int(VERSION_NAME.match(n).group(1)) for n in self.names(kind)), default=0) + 1

    def info(self, kind: str, version: str) -> dict:
        return self.read_json(kind, version, VERSION_FILE)

    def _load(self, path: str, where: str) -> dict:
        """A JSON object from the registry; RegistryError naming the file when it is missing,
        empty or not a JSON object."""
        try:
            with self.fs.open(path, "r", encoding="utf-8") as fh:
                value = json.load(fh)
        except FileNotFoundError:
            raise RegistryError(f"{where}: missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RegistryError(f"{where}: damaged (not valid JSON: {exc})") from None
        if not isinstance(value, dict):
            raise RegistryError(f"{where}: damaged (a JSON {type(value).__name__}, not an object)")
        return value

    def read_json(self, kind: str, version: str, name: str) -> dict:
        return self._load(f"{self.version_dir(kind, version)}/{name}", f"{self.uri(kind, version)}/{name}")

    def find_key(self, kind: str, key: str) -> str | None:
        """The newest version published from the same training key (same data, config and code);
        a version whose version.json is damaged is not one (`verify` names it)."""
        for version in reversed(self.versions(kind)):
            try:
                if self.info(kind, version).get("key") == key:
                    return version
            except RegistryError:
                continue
        return None

    def publish(self, kind: str, bundle: str | Path, key: str, extra: dict | None = None) -> str:
        """Copy a finished local bundle folder in as a new version; return its name."""
        bundle = Path(bundle)
        meta = {"kind": kind, "key": key, "bundle": bundle.name, "published_at": now(), **(extra or {}),
                "files": file_hashes(bundle)}
        if self.local:
            return self._publish_local(kind, bundle, meta)
        return self._publish_remote(kind, bundle, meta)

    def _publish_local(self, kind: str, bundle: Path, meta: dict) -> str:
        versions = Path(self.kind_dir(kind)) / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        tmp = new_folder(versions / "staging")  # hidden: .staging.<random>
        try:
            shutil.copytree(bundle, tmp, dirs_exist_ok=True)
            number = self._next_number(kind)
            while True:
                version = f"v{number:04d}"
                (tmp / VERSION_FILE).write_text(json.dumps({**meta, "version": version}, indent=2) + "\n")
                (tmp / COMPLETE).write_text("ok\n")
                try:
                    move_into_place(tmp, versions / version)  # fails if another run took the number first
                    return version
                except OSError:
                    if not (versions / version).exists():
                        raise
                    number += 1
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _publish_remote(self, kind: str, bundle: Path, meta: dict) -> str:
        # No rename on object stores: the number is claimed by creating the version's version.json
        # with a conditional write (S3 If-None-Match: *), which fails for all but the first writer,
        # so versions are v0001, v0002, ... as on a local disk. The marker, written last, makes the
        # version visible; a claim whose upload never finished stays incomplete (ignored).
        number = self._next_number(kind)
        while True:
            version = f"v{number:04d}"
            target = self.version_dir(kind, version)
            try:
                self.fs.pipe_file(f"{target}/{VERSION_FILE}", (json.dumps({**meta, "version": version}, indent=2)
                                                               + "\n").encode(), mode="create")
                break
            except (FileExistsError, OSError):
                if not self.fs.exists(f"{target}/{VERSION_FILE}"):
                    raise
                number += 1  # another run claimed it first
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                self.fs.put_file(str(path), f"{target}/{path.relative_to(bundle).as_posix()}")
        self.fs.pipe_file(f"{target}/{COMPLETE}", b"ok\n")
        return version

    def local_path(self, kind: str, version: str, cache_dir: str | Path | None = None) -> Path:
        """A local folder holding the version (downloaded once for remote registries)."""
        if version not in self.versions(kind):
            known = ", ".join(self.versions(kind)[-5:]) or "none"
            raise RegistryError(f"{self.root}: no complete {kind} version {version!r} (latest: {known})")
        if self.local:
            return Path(self.version_dir(kind, version))
        cache = Path(cache_dir or Path(tempfile.gettempdir()) / "lstm-registry-cache") / kind / version
        if not (cache / COMPLETE).exists():
            with atomic_folder(cache, replace=True) as tmp:
                self.fs.get(self.version_dir(kind, version) + "/", str(tmp), recursive=True)
        return cache

    def resolve(self, kind: str, version: str | None = None) -> tuple[str, Path]:
        """(version, local folder) of a named version, or of the champion when none is named."""
        if version is None:
            pointer = self.champion(kind)
            if pointer is None:
                raise RegistryError(f"{self.root}: no {kind} champion yet (train one, or name a version)")
            version = pointer["version"]
        return version, self.local_path(kind, version)

    # -- champion ---------------------------------------------------------------------------
    def _pointer_uri(self, kind: str) -> str:
        path = f"{self.kind_dir(kind)}/{POINTER}"
        return path if self.local else self.fs.unstrip_protocol(path)

    def repair_hint(self, kind: str) -> str:
        """How to set a damaged pointer again: the last champion the decisions recorded."""
        last = next((d.get("champion_after") for d in reversed(self.decisions(kind, skip_damaged=True))
                     if d.get("champion_after") in self.versions(kind)), None)
        return (f"set it again with `lstm-pipeline registry promote {last or 'VERSION'} --kind {kind} "
                f"--registry {self.root} --reason ...`" + (f" ({last}: the last champion the decisions record)"
                                                           if last else ""))

    def pointer(self, kind: str) -> tuple[dict | None, str | None]:
        """(the champion pointer, None) read once; (None, what is wrong) when it is damaged or names
        no complete version; (None, None) before the first promotion."""
        path = f"{self.kind_dir(kind)}/{POINTER}"
        if not self.fs.exists(path):
            return None, None
        try:
            pointer = self._load(path, self._pointer_uri(kind))
        except RegistryError as exc:
            return None, str(exc)
        if pointer.get("version") not in self.versions(kind):
            return None, f"{self._pointer_uri(kind)}: names {pointer.get('version')!r}, which is not a complete version"
        return pointer, None

    def champion(self, kind: str) -> dict | None:
        """The champion pointer, None before the first promotion; RegistryError, with how to
        repair it, when it is damaged or names no complete version."""
        pointer, problem = self.pointer(kind)
        if problem:
            raise RegistryError(f"{problem}; {self.repair_hint(kind)}")
        return pointer

    def set_champion(self, kind: str, version: str, decision: dict) -> dict:
        """Point the champion at a complete version; the one it replaces goes on the `previous`
        stack that rollback returns along."""
        if version not in self.versions(kind):
            known = ", ".join(self.versions(kind)[-5:]) or "none"
            raise RegistryError(f"{self.root}: cannot promote {kind} version {version!r}: not a complete version "
                                f"(latest: {known})")
        old = self.pointer(kind)[0]  # a damaged pointer is replaced
        previous = (old.get("previous", []) + [old["version"]]) if old and old["version"] != version else \
            (old.get("previous", []) if old else [])
        pointer = {"version": version, "promoted_at": now(), "forced": bool(decision.get("forced")),
                   "manual": bool(decision.get("manual")), "reasons": decision.get("reasons", []),
                   "previous": previous}
        self._write_json(f"{self.kind_dir(kind)}/{POINTER}", pointer)
        return pointer

    def promote(self, kind: str, version: str, reason: str) -> dict:
        """A person's promotion (not the gate's), recorded with its reason in decisions/. It is also
        the repair of a damaged pointer: that one is replaced (and the reason says so)."""
        with self.lock(kind):
            self._refuse_damaged(kind, version, "promote")
            before, damaged = self.pointer(kind)
            if damaged:
                reason = f"{reason} (replaced a damaged pointer: {damaged})"
            self.set_champion(kind, version, {"manual": True, "reasons": [f"manual promotion: {reason}"]})
            return self._manual_record(kind, "promote", version, before, reason)

    def rollback(self, kind: str, reason: str) -> dict:
        """Return to the champion before the current one (repeatable: each rollback goes one further back)."""
        with self.lock(kind):
            before = self.champion(kind)
            if before is None:
                raise RegistryError(f"{self.root}: no {kind} champion to roll back from")
            if not before.get("previous"):
                raise RegistryError(f"{self.root}: {kind} champion {before['version']} has no earlier champion "
                                    "to roll back to")
            target = before["previous"][-1]
            if target not in self.versions(kind):
                raise RegistryError(f"{self.root}: earlier {kind} champion {target!r} is not a complete version")
            self._refuse_damaged(kind, target, "roll back to")
            pointer = {"version": target, "promoted_at": now(), "forced": False, "manual": True,
                       "reasons": [f"rollback from {before['version']}: {reason}"], "previous": before["previous"][:-1]}
            self._write_json(f"{self.kind_dir(kind)}/{POINTER}", pointer)
            return self._manual_record(kind, "rollback", target, before, reason)

    def _refuse_damaged(self, kind: str, version: str, action: str) -> None:
        """A person never makes a damaged version champion by accident: its damage, named."""
        from .registry_checks import version_problems

        if version in self.versions(kind) and (damage := version_problems(self, kind, version)):
            raise RegistryError(f"cannot {action} {kind} {version}: it is damaged ({'; '.join(damage)}); "
                                "`lstm-pipeline registry verify` lists every problem")

    def _manual_record(self, kind: str, action: str, version: str, before: dict | None, reason: str) -> dict:
        previous = before["version"] if before else None
        decision = {"kind": kind, "action": action, "manual": True, "candidate": version, "champion_before": previous,
                    "champion_after": version, "promoted": True, "reasons": [f"{action}: {reason}"],
                    "decided_at": now()}
        decision["record"] = self.record_decision(kind, decision)
        return {"kind": kind, "champion": version, "previous": previous}

    def decisions(self, kind: str, skip_damaged: bool = False) -> list[dict]:
        """Every recorded decision, oldest first (a damaged record: RegistryError, or skipped)."""
        folder = f"{self.kind_dir(kind)}/decisions"
        if not self.fs.exists(folder):
            return []
        out = []
        for path in sorted(self.fs.ls(folder, detail=False)):
            if path.endswith(".json"):
                try:
                    out.append(self._load(path, path if self.local else self.fs.unstrip_protocol(path)))
                except RegistryError:
                    if not skip_damaged:
                        raise
        return out

    def record_decision(self, kind: str, decision: dict) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = f"{self.kind_dir(kind)}/decisions/{stamp}-{decision.get('candidate', 'none')}.json"
        self._write_json(path, decision)
        return path if self.local else self.fs.unstrip_protocol(path)

    def _write_json(self, path: str, obj: dict) -> None:
        data = (json.dumps(obj, indent=2, default=str) + "\n").encode()
        if not self.local:
            self.fs.pipe_file(path, data)  # one object put: all or nothing
            return
        with atomic_file(path) as tmp:
            tmp.write_bytes(data)

    @contextmanager
    def lock(self, kind: str):
        """Serialise gate decisions and manual promotions (compare with the champion, then move the
        pointer). A local registry takes a file lock (runs on this machine); a registry on object
        storage, shared by hosts, takes a Prefect global concurrency limit of one slot, held on the
        Prefect server that every host's runs report to (set PREFECT_API_URL to share it)."""
        if not self.local:
            with prefect_lock(f"lstm-registry-{kind}-{hashlib.sha256(self.root.encode()).hexdigest()[:10]}"):
                yield
            return
        folder = Path(self.kind_dir(kind))
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def register(kind: str, registry: str, key: str, write_local_bundle) -> dict:
    """The registry version of this training key: the existing one when the same data, config
    and code were published before (an unchanged re-run adds no version), else a new one
    copied from the bundle write_local_bundle() writes."""
    reg = Registry(registry)
    version, new = reg.find_key(kind, key), False
    if version is None:
        version, new = reg.publish(kind, write_local_bundle(), key), True
    return {"version": version, "bundle": str(reg.local_path(kind, version)), "uri": reg.uri(kind, version),
            "new": new}
