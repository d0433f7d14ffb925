"""The champion/challenger gate ("blessing" in TFX terms).

A candidate becomes champion only if, on the candidate's own test data, it beats both the naive
baseline and the current champion by the configured margin. Both are scored on the same rows:
the champion bundle is re-run on the candidate's test split rather than trusted for the
figures it had on its own data. `force` promotes anyway and says so in the reasons. Each
pipeline's gate stage (tasks/<pipeline>/gate.py) supplies the figures.
"""
from __future__ import annotations

from datetime import UTC, datetime


def better(a: float, b: float, margin: float, higher_is_better: bool) -> bool:
    """a beats b by at least margin."""
    return a >= b + margin if higher_is_better else a <= b - margin


def decide(*, kind: str, metric: str, higher_is_better: bool, margin: float, candidate: str, candidate_value: float,
           baseline: str, baseline_value: float, champion: str | None, champion_value: float | None,
           force: bool = False, note: str | None = None, candidate_vs_champion: float | None = None,
           baseline_rule: str = "naive") -> dict:
    """The decision and its reasons, as plain data (published as an artifact and kept in the
    registry)."""
    word = "higher" if higher_is_better else "lower"
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    reasons = []
    beats_baseline = better(candidate_value, baseline_value, margin, higher_is_better)
    reasons.append(f"{'beats' if beats_baseline else 'does not beat'} the {baseline} baseline on {metric}: "
                   f"{fmt(candidate_value)} vs {fmt(baseline_value)} ({word} is better, margin {margin})")
    if champion is None:
        beats_champion = True
        reasons.append("no champion yet" + (f" ({note})" if note else ""))
    elif champion == candidate:
        beats_champion = False
        reasons.append(f"{candidate} is already the champion (same data, config and code): kept")
    elif champion_value is None:
        beats_champion = True
        reasons.append(f"champion {champion} cannot be scored on this data ({note}): compared with the baseline only")
    else:
        # on the rows both models can score (the same rows unless the champion lacks a ticker)
        mine = candidate_value if candidate_vs_champion is None else candidate_vs_champion
        beats_champion = better(mine, champion_value, margin, higher_is_better)
        reasons.append(f"{'beats' if beats_champion else 'does not beat'} champion {champion} on the same test data: "
                       f"{fmt(mine)} vs {fmt(champion_value)} (margin {margin})" + (f"; {note}" if note else ""))
    promoted = (beats_baseline and beats_champion) or (force and champion != candidate)
    if force and not (beats_baseline and beats_champion) and champion != candidate:
        reasons.append("promoted anyway: --force")
    return {
        "kind": kind, "candidate": candidate, "champion_before": champion, "metric": metric,
        "higher_is_better": higher_is_better, "margin": margin, "candidate_value": candidate_value,
        "champion_value": champion_value, "baseline": baseline, "baseline_value": baseline_value,
        "baseline_rule": baseline_rule,
        "beats_baseline": beats_baseline, "beats_champion": beats_champion, "forced": bool(force and promoted),
        "promoted": promoted, "champion_after": candidate if promoted else champion, "reasons": reasons,
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def decision_markdown(d: dict) -> str:
    verdict = (f"**{d['candidate']} promoted to champion**" + (" (forced)" if d["forced"] else "")
               if d["promoted"] else f"**{d['candidate']} not promoted**; champion stays {d['champion_before'] or 'unset'}")
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    return "\n".join([
        f"# Gate decision ({d['kind']})", "", verdict, "",
        f"| model | {d['metric']} ({'higher' if d['higher_is_better'] else 'lower'} is better) |", "|---|---|",
        f"| candidate {d['candidate']} | {fmt(d['candidate_value'])} |",
        f"| champion {d['champion_before'] or '(none)'} | {fmt(d['champion_value'])} |",
        f"| {d['baseline']} baseline | {fmt(d['baseline_value'])} |", "",
        f"Margin: {d['margin']}. Compared with "
        + ("the strongest baseline of the run" if d.get("baseline_rule") == "strongest" else "the naive baseline")
        + f" (config gate.baseline: {d.get('baseline_rule', 'naive')}).", "",
        "Reasons:", *[f"- {r}" for r in d["reasons"]],
    ])


def pick_baseline(baselines: dict[str, float], naive: str, rule: str, higher_is_better: bool) -> tuple[str, float]:
    """(name, value) of the baseline the gate compares with: the strongest of the run, or the
    naive one (the lenient setting, config gate.baseline)."""
    if rule == "naive":
        return naive, baselines[naive]
    best = (max if higher_is_better else min)(baselines, key=baselines.get)
    return best, baselines[best]


def run_gate(registry_root: str, kind: str, version: str, *, metric: str, higher_is_better: bool, margin: float,
             candidate_value: float, baseline: str, baseline_value: float, score_champion, force: bool = False,
             baseline_rule: str = "naive") -> dict:
    """Under the registry's lock (so concurrent runs decide one after another against the
    champion of the moment): score the champion with score_champion(local bundle path) ->
    (champion value, candidate value on the same rows, note), decide, promote, record."""
    from .registry import Registry
    from .registry_checks import version_problems

    reg = Registry(registry_root)
    with reg.lock(kind):
        pointer = reg.champion(kind)
        champion = pointer["version"] if pointer else None
        champion_value, note, vs_champion = None, None, candidate_value
        if champion == version:
            champion_value = candidate_value
        elif champion is not None and (damage := version_problems(reg, kind, champion)):
            note = f"its bundle is damaged: {'; '.join(damage)}"  # one damaged old bundle blocks no retraining
        elif champion is not None:
            champion_value, same_rows, note = score_champion(reg.local_path(kind, champion))
            if same_rows is not None:
                vs_champion = same_rows
        d = decide(kind=kind, metric=metric, higher_is_better=higher_is_better, margin=margin, candidate=version,
                   candidate_value=candidate_value, baseline=baseline, baseline_value=baseline_value,
                   champion=champion, champion_value=champion_value, force=force, note=note,
                   candidate_vs_champion=vs_champion, baseline_rule=baseline_rule)
        if d["promoted"]:
            reg.set_champion(kind, version, d)
        d["record"] = reg.record_decision(kind, d)
    return d


def publish_decision(kind: str, d: dict, table: list[dict], description: str) -> None:
    """The decision as artifacts (metrics table, gate markdown) and as an event to alert on."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from .events import emit_gate_event

    create_table_artifact(key=f"{kind}-metrics", table=table, description=description)
    create_markdown_artifact(key=f"{kind}-gate", markdown=decision_markdown(d),
                             description=("promoted: " if d["promoted"] else "not promoted: ") + "; ".join(d["reasons"]))
    emit_gate_event(kind, d)
