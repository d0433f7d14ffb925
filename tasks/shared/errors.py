"""Errors the CLI turns into a short message and exit code 2 (no traceback unless --debug)."""
from __future__ import annotations

from pathlib import Path

from lstm_models.errors import UserError


class PipelineError(UserError):
    """An error the user can fix: bad input, a rejected batch, a bad config."""


class DataError(PipelineError):
    """Bad input data: names the file, the row (when there is one) and the rule broken."""

    def __init__(self, file: str | Path, rule: str, detail: str = "", row: int | None = None):
        self.file, self.rule, self.detail, self.row = str(file), rule, detail, row
        where = f"{self.file}" + (f", row {row}" if row is not None else "")
        super().__init__(f"{where}: {rule}" + (f": {detail}" if detail else ""))


class ConfigError(PipelineError):
    """A config file or value that cannot be used."""
