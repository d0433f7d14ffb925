"""Price file layouts: which of a file's columns are ours (Date, Open..Volume), where each row's
ticker comes from, and what is left over.

Teams export prices from Yahoo, Stooq, data APIs and their own databases: the same columns under
other names (`date`, `timestamp`, `adjusted_close`, `vol`), no Adj Close, extra columns
(`OpenInt`, `dividend_amount`, an unnamed index `Unnamed: 0`). A header is matched by a
normalised comparison (lower case, non-alphanumerics removed: `Adj Close` = `adj_close`) against
a small synonym table; `ingest.columns` names the others, and a header that still cannot be told
is one error line naming the columns found and the mapping to set.

`Datetime` is deliberately not a synonym of Date: it is what intraday exports call their time
column, so it is only suggested, and read when `ingest.columns` says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.shared.errors import DataError

if TYPE_CHECKING:  # the config is not imported at run time: the predict CLI reads prices too, and fast
    from .config import PriceIngestConfig

OURS = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")
OPTIONAL = ("Adj Close",)  # missing: Close is used (unadjusted prices), and the report says so
SYNONYMS = {  # normalised names that mean our column (its own normalised name first)
    "Date": ("date", "timestamp", "day", "tradedate"),
    "Open": ("open", "o", "openprice"),
    "High": ("high", "h", "highprice"),
    "Low": ("low", "l", "lowprice"),
    "Close": ("close", "c", "closeprice"),
    "Adj Close": ("adjclose", "adjustedclose", "adjcloseprice"),
    "Volume": ("volume", "vol", "v"),
}
LIKELY = {"Date": ("datetime", "time", "dt")}  # suggested in an error, never taken unasked
TICKER_NAMES = ("ticker", "symbol")  # what `ingest.ticker: auto` takes as the ticker column
FROM_FILE, AUTO = "file", "auto"
MAX_LISTED = 20  # columns named in an error line


def normalised(name: str) -> str:
    """`Adj Close`, `adj_close` and `ADJ-CLOSE` -> `adjclose`."""
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


@dataclass(frozen=True)
class Layout:
    """How one file's columns were read: ours -> theirs (Adj Close absent when Close stood in for
    it), the ticker column (None: the file name gives the ticker) and the columns not used."""

    columns: dict[str, str]
    ticker: str | None
    ignored: list[str]

    @property
    def adj_close_from_close(self) -> bool:
        return "Adj Close" not in self.columns

    def describe(self) -> dict:
        """The layout as the validation report shows it (JSON)."""
        return {"columns": dict(self.columns), "adj_close_from_close": self.adj_close_from_close,
                "ticker": f"column {self.ticker}" if self.ticker else "file name", "ignored": list(self.ignored)}


def _listed(found: list[str]) -> str:
    more = f", ... (+{len(found) - MAX_LISTED} more)" if len(found) > MAX_LISTED else ""
    return ", ".join(found[:MAX_LISTED]) + more


def _named(found: list[str], name: str) -> list[str]:
    """The found columns called `name`: exactly, else in any case or spelling."""
    return [c for c in found if c == name] or [c for c in found if normalised(c) == normalised(name)]


def _ticker_column(path: Path, found: list[str], how: str) -> str | None:
    if how == FROM_FILE:
        return None
    if how == AUTO:
        return next((c for t in TICKER_NAMES for c in found if normalised(c) == t), None)
    named = _named(found, how)
    if not named:
        raise DataError(path, "ticker column not found",
                        f"ingest.ticker is {how!r} (found: {_listed(found)}); name one of them, or file for the file name")
    return named[0]


def _suggestion(ours: str, free: list[str]) -> str | None:
    """A free column that looks like ours (`Datetime` for Date, `close_usd` for Close), or None."""
    likely = LIKELY.get(ours, ())
    words = [w for w in (*likely, *SYNONYMS[ours]) if len(w) > 2]
    return next((c for c in free if normalised(c) in likely), None) or \
        next((c for c in free for w in words if w in normalised(c)), None)


def find_layout(path: str | Path, found: list[str], ingest: PriceIngestConfig | None = None) -> Layout:
    """The layout of a file with header `found`: `ingest.columns` first, then our names and their
    synonyms. Raises one DataError line when a column is missing or could be either of two."""
    path, found = Path(path), [str(c) for c in found]
    mapping, how = (ingest.columns, ingest.ticker) if ingest is not None else ({}, AUTO)
    taken: dict[str, str] = {}
    for ours, theirs in mapping.items():
        named = _named(found, theirs)
        if len(named) != 1:
            what = "not a column of the file" if not named else f"could be {' or '.join(named)}"
            raise DataError(path, "ingest.columns does not fit", f"{ours}: {theirs!r} is {what} (found: {_listed(found)})")
        taken[ours] = named[0]
    ticker = _ticker_column(path, [c for c in found if c not in taken.values()], how)
    ambiguous: dict[str, list[str]] = {}
    for ours in OURS:
        if ours in taken:
            continue
        free = [c for c in found if c not in taken.values() and c != ticker]
        candidates = [c for c in free if normalised(c) == SYNONYMS[ours][0]] or \
                     [c for c in free if normalised(c) in SYNONYMS[ours]]
        if len(candidates) == 1:
            taken[ours] = candidates[0]
        elif candidates:
            ambiguous[ours] = candidates
    missing = [c for c in OURS if c not in taken and c not in OPTIONAL and c not in ambiguous]
    if missing or ambiguous:
        free = [c for c in found if c not in taken.values() and c != ticker]
        hint = {m: _suggestion(m, free) or "<column>" for m in missing} | {m: c[0] for m, c in ambiguous.items()}
        what = [", ".join(missing)] if missing else []
        what += [f"{m} could be {' or '.join(c)}" for m, c in ambiguous.items()]
        detail = (f"{'; '.join(what)} (found: {_listed(found)}); {'map them' if missing else 'pick one'} with "
                  f"ingest.columns, e.g. {{{', '.join(f'{k}: {v}' for k, v in hint.items())}}}")
        raise DataError(path, "missing columns" if missing else "ambiguous columns", detail)
    return Layout(columns={c: taken[c] for c in OURS if c in taken}, ticker=ticker,
                  ignored=[c for c in found if c not in taken.values() and c != ticker])


def layout_note(layout: dict) -> str:
    """A file's layout (Layout.describe) in words, "" for our own (Yahoo's) one: for the flow's log."""
    columns = layout.get("columns", {})
    renamed = [f"{ours} <- {theirs}" for ours, theirs in columns.items() if normalised(ours) != normalised(theirs)]
    notes = [f"columns {', '.join(renamed)}"] if renamed else []
    notes += ["names in another case or spelling"] if any(
        ours != theirs and normalised(ours) == normalised(theirs) for ours, theirs in columns.items()) else []
    notes += ["Adj Close from Close"] if layout.get("adj_close_from_close") else []
    notes += [f"ticker from {layout['ticker']}"] if layout.get("ticker", "file name") != "file name" else []
    notes += [f"ignored {', '.join(layout['ignored'])}"] if layout.get("ignored") else []
    return "; ".join(notes)
