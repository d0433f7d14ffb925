"""The drift report as markdown (for the Prefect artifact) and the champion's stored profile."""
from __future__ import annotations

import json
from pathlib import Path


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    v = float(v)
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.3g}B"
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v:,.0f}"
    if a == 0 or a >= 0.001:
        return f"{v:.4g}"
    return f"{v:.2e}"


def _threshold_cell(check: dict) -> str:
    t = check["threshold"]
    if isinstance(t, (list, tuple)):
        return f"outside {_fmt(t[0])}–{_fmt(t[1])}"
    return f"> {_fmt(t)}"


def drift_markdown(report: dict, kind: str) -> str:
    """The report as markdown for a Prefect artifact: a one-line verdict, then a table of the
    checks (check, reference, current, value, threshold, flagged), then notes."""
    checks = list(report["checks"].values())
    flagged = [c for c in checks if c["flagged"]]
    rows = f"reference {report['reference_rows']:,} rows, current {report['current_rows']:,} rows"
    if flagged:
        verdict = (f"**Drift: {len(flagged)} of {len(checks)} checks flagged** for {kind} "
                   f"({', '.join(c['description'] for c in flagged)}); {rows}.")
    else:
        verdict = f"**No drift** for {kind}: all {len(checks)} checks within thresholds; {rows}."
    lines = [verdict, "", f"## Drift report: {kind}", "",
             "| check | reference | current | value | threshold | flagged |", "|---|---|---|---|---|---|"]
    for c in checks:
        mark = "**yes**" if c["flagged"] else "no"
        lines.append(f"| {c['description']} (reference/current: {c['stat']}) | {_fmt(c['reference'])} | {_fmt(c['current'])} | "
                     f"{_fmt(c['value'])} | {_threshold_cell(c)} | {mark} |")
    t = report["thresholds"]
    lines += ["", f"A check is flagged when its value passes the threshold and its p-value is below "
                  f"{t['alpha']} (so small batches are not flagged for sampling noise). PSI: population "
                  f"stability index on reference-decile bins.",
              "", "| check | p-value | note |", "|---|---|---|"]
    for c in checks:
        note = c.get("note") or (f"KS {_fmt(c['ks'])}, {c['bins']} bins" if "ks" in c else "")
        lines.append(f"| {c['check']} | {_fmt(c['p_value'])} | {note} |")
    if report.get("warnings"):
        lines += [""] + [f"- Warning: {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def champion_profile(champion_bundle: str | None) -> tuple[dict | None, str]:
    """(the champion's training-data profile, "") or (None, why there is nothing to compare with)."""
    if champion_bundle is None:
        return None, "no usable champion (none yet, or its bundle is damaged: see the run log): nothing to compare with"
    path = Path(champion_bundle) / "profile.json"
    if not path.is_file():
        return None, f"the champion ({Path(champion_bundle).name}) has no profile.json (published before drift reports)"
    return json.loads(path.read_text()), ""
