"""Write-then-rename, the one way this project writes what others read: a reader sees the old
file or folder (or none) or the whole new one, never a part of it. Files go through
atomic_file, folders through atomic_folder (or new_folder + move_into_place where the folder is
filled elsewhere, e.g. by another process)."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """A temporary path beside `target` to write to; when the block ends without an error it
    replaces `target` in one step (os.replace); on an error it is removed, `target` untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def new_folder(target: str | Path) -> Path:
    """An empty, hidden temporary folder beside `target` (`.<name>.<random>`), to fill and then
    move_into_place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def move_into_place(tmp: str | Path, target: str | Path, replace: bool = False) -> None:
    """Rename a filled temporary folder to `target` in one step. replace: an existing `target`
    is removed first; otherwise an existing, non-empty `target` raises OSError, which is how two
    writers racing for one name learn which of them won."""
    if replace and Path(target).exists():
        shutil.rmtree(target)
    os.rename(tmp, target)


@contextmanager
def atomic_folder(target: str | Path, replace: bool = False) -> Iterator[Path]:
    """A temporary folder to fill; moved to `target` when the block ends without an error
    (move_into_place), removed otherwise."""
    tmp = new_folder(target)
    try:
        yield tmp
        move_into_place(tmp, target, replace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
