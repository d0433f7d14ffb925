"""What is wrong with a registry: each version checked against what was recorded when it was
published (marker, version.json, metrics.json, the SHA-256 of every file), entries under
versions/ that are not versions, and the champion pointer. `lstm-pipeline registry verify`
prints it; training and the gate use it to leave a damaged champion out rather than fail."""
from __future__ import annotations

import hashlib
import logging

from .registry import COMPLETE, POINTER, VERSION_NAME, Registry, RegistryError


def version_problems(reg: Registry, kind: str, version: str) -> list[str]:
    """What is wrong with a version folder: no completion marker, version.json or metrics.json
    unreadable, a file recorded at publish time missing or changed. [] when it is sound."""
    where = reg.uri(kind, version)
    folder = reg.version_dir(kind, version)
    if not reg.fs.exists(f"{folder}/{COMPLETE}"):
        return [f"{where}: incomplete (no {COMPLETE} marker: a publish that did not finish, or a damaged copy)"]
    problems = []
    try:
        meta = reg.info(kind, version)
    except RegistryError as exc:
        return [str(exc)]
    try:
        if reg.fs.exists(f"{folder}/metrics.json"):  # a missing one is named below, when it was published
            reg.read_json(kind, version, "metrics.json")
    except RegistryError as exc:
        problems.append(str(exc))
    recorded = meta.get("files")
    if recorded is None:
        return problems  # published before hashes were recorded: nothing more to compare
    for name, digest in sorted(recorded.items()):
        path = f"{folder}/{name}"
        if not reg.fs.exists(path):
            problems.append(f"{where}/{name}: missing")
        elif hashlib.sha256(reg.fs.cat_file(path)).hexdigest() != digest:
            problems.append(f"{where}/{name}: changed since publishing (truncated or overwritten)")
    return [p for i, p in enumerate(problems) if p not in problems[:i]]

def foreign(reg: Registry, kind: str) -> list[str]:
    """Entries under versions/ that are not versions (nor a publish in progress)."""
    folder = f"{reg.kind_dir(kind)}/versions"
    if not reg.fs.exists(folder):
        return []
    names = [p.rstrip("/").rsplit("/", 1)[-1] for p in reg.fs.ls(folder, detail=False)]
    return sorted(n for n in names if not VERSION_NAME.match(n) and not n.startswith(".staging"))

def verify(reg: Registry, kind: str) -> dict:
    """Every version folder and the pointer checked: {"kind", "versions", "sound", "problems"}."""
    problems = [{"where": name, "problem": p} for name in sorted(reg.names(kind))
                for p in version_problems(reg, kind, name)]
    problems += [{"where": f"versions/{n}", "problem": f"{reg.uri(kind, n)}: not a version (a foreign folder "
                  "or file under versions/; the registry ignores it)"} for n in foreign(reg, kind)]
    p, damaged = reg.pointer(kind)
    if damaged:
        problems.append({"where": POINTER, "problem": f"{damaged}; {reg.repair_hint(kind)}"})
    elif p is not None:
        champion_damage = [q for q in problems if q["where"] == p["version"]]
        if champion_damage:
            problems.append({"where": POINTER, "problem": f"the champion {p['version']} is damaged: promote or "
                             "roll back to a sound version"})
        for old in p.get("previous", []):
            if old not in reg.versions(kind):
                problems.append({"where": POINTER, "problem": f"rollback history names {old!r}, which is not a "
                                 "complete version"})
    return {"kind": kind, "registry": reg.root, "versions": len(reg.names(kind)),
            "sound": not problems, "problems": problems}


def current_champion(root: str, kind: str) -> tuple[str | None, str | None]:
    """(champion version, a local folder holding it), or (None, None) before the first promotion.
    A champion whose bundle is damaged comes without its folder, (version, None), and a warning:
    a run compares nothing with it rather than fail (the gate says why)."""
    reg = Registry(root)
    pointer = reg.champion(kind)
    if pointer is None:
        return None, None
    version = pointer["version"]
    problems = version_problems(reg, kind, version)
    if problems:
        logging.getLogger(__name__).warning("champion %s is damaged (%s): nothing is compared with it; "
                                            "`lstm-pipeline registry verify` lists what is wrong",
                                            version, "; ".join(problems))
        return version, None
    return version, str(reg.local_path(kind, version))
