"""Opening review files: checks with clear errors, and compressed input found by its magic bytes.
Free of Prefect, so prediction from the command line starts fast."""
from __future__ import annotations

import bz2
import gzip
from pathlib import Path

from tasks.shared.errors import DataError


def check_input_file(path: str | Path) -> Path:
    """The path must be an existing, readable, non-empty file."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, "input not found", "no such file")
    if p.is_dir():
        raise DataError(p, "input is a directory", "give a file of reviews")
    if not p.is_file():  # a FIFO would block the read below forever, a socket cannot be read
        raise DataError(p, "input is not a regular file", "a pipe, socket or device; give a file of reviews")
    try:
        with open(p, "rb") as fh:
            head = fh.read(1)
    except OSError as exc:
        raise DataError(p, "input not readable", exc.strerror or str(exc)) from None
    if not head:
        raise DataError(p, "empty input", "the file has no bytes")
    return p


def open_binary(path: Path):
    """Open plain, bzip2 or gzip input by its magic bytes (not its name)."""
    with open(path, "rb") as fh:
        magic = fh.read(3)
    if magic == b"BZh":
        return bz2.open(path, "rb")
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")
