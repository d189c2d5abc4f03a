"""Counts of a run, computed by the database from its recorded decisions (never people)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import CampaignDecision, CampaignRun


def decision_counts(session: Session, run_ids: list[int]) -> dict:
    """Aggregates over the decisions of ``run_ids``: outcomes, rules, holdout, variants."""
    d = CampaignDecision
    rows = session.execute(
        select(d.outcome, d.rule_id, d.holdout, d.variant, func.count())
        .where(d.run_id.in_(run_ids))
        .group_by(d.outcome, d.rule_id, d.holdout, d.variant)
    ).all()
    outcomes: dict[str, int] = defaultdict(int)
    rules: dict[str, dict[str, int]] = {"deny": defaultdict(int), "defer": defaultdict(int)}
    variants: dict[str, int] = defaultdict(int)
    holdout = 0
    for outcome, rule_id, held, variant, count in rows:
        outcomes[outcome] += count
        if outcome in rules:
            rules[outcome][rule_id] += count
        holdout += count if held else 0
        if variant is not None:
            variants[variant] += count
    return {
        "candidates": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "rules": {k: dict(sorted(v.items())) for k, v in rules.items()},
        "holdout": holdout,
        "variants": dict(sorted(variants.items())),
    }


def _policy_hashes(session: Session, run_id: int) -> list[str]:
    query = select(CampaignDecision.policy_hash).where(CampaignDecision.run_id == run_id)
    return sorted(set(session.scalars(query.distinct())))


def record_counts(session: Session, run: CampaignRun) -> None:
    """Store the run's counts (caller's transaction); ``allowed``/``deferred`` exclude holdout."""
    counts = decision_counts(session, [run.id])
    held = dict(
        session.execute(
            select(CampaignDecision.outcome, func.count())
            .where(CampaignDecision.run_id == run.id, CampaignDecision.holdout.is_(True))
            .group_by(CampaignDecision.outcome)
        )
        .tuples()
        .all()
    )
    outcomes = counts["outcomes"]
    run.candidates = counts["candidates"]
    run.allowed = outcomes.get("allow", 0) - held.get("allow", 0)
    run.deferred = outcomes.get("defer", 0) - held.get("defer", 0)
    run.denied = outcomes.get("deny", 0)
    run.holdout = counts["holdout"]
    hashes = _policy_hashes(session, run.id)
    counts["policy_hashes"] = hashes
    run.policy_hash = hashes[0] if len(hashes) == 1 else _combined(hashes)
    run.counts_json = json.dumps(counts, sort_keys=True)


def _combined(hashes: list[str]) -> str | None:
    """Several policies decided (several jurisdictions): a digest of their sorted hashes."""
    if not hashes:
        return None
    return hashlib.sha256(",".join(hashes).encode()).hexdigest()
