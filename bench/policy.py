"""Policy engine benchmarks.

Run from the repository root: ``python bench/policy.py [--quick]``. Builds its own facts, prints
progress and ends with ``RESULT <name> <value> <unit>`` lines (see docs/BENCHMARKS.md).

Sections, each a function returning its RESULT lines:

1. ``bench_decisions``: single-customer decisions per second on one core, on pre-loaded
   facts: the allow path with every rule applied, and a realistic mix (allow, deny and
   defer). Target: at least 200,000 decisions/s.
2. ``bench_audience`` (bench/policy_audience.py): an audience of 1,000,000 customers on
   SQLite and PostgreSQL (``BENCH_DATABASE_URL``), every candidate decided and streamed,
   counted per reason, against streaming every candidate's id with no rule in the same run.
   Target: at most 3 s, at most 8x that floor.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.policy import (
    ConsentFact,
    ContactWindow,
    CustomerFacts,
    Intent,
    PolicySet,
    count_outcomes,
    decide,
    load_policies,
)
from bench.policy_audience import bench_audience

TARGET = 200_000
AT = datetime(2024, 5, 15, 10, 30, tzinfo=UTC)  # a Wednesday, 12:30 in Rome
FIELDS = frozenset({"first_name", "language"})


def allow_path_customer(i: int) -> CustomerFacts:
    """A customer every rule passes for (offers by e-mail, Italy), with limits to check."""
    consent = ConsentFact("granted", AT - timedelta(days=100), None, "consent", True)
    return CustomerFacts(
        customer_id=i,
        jurisdiction="IT",
        timezone="Europe/Rome",
        age_attested=18,
        consents={("offers", "email"): consent},
        objected=False,
        suppressions=frozenset(),
        verified_channels=frozenset({"email"}),
        shared_fields={"offers": frozenset({"first_name", "language", "city"})},
        contact_windows=(ContactWindow(frozenset(range(5)), clock(9), clock(19)),),
        weekly_cap=3,
        paused_until=None,
        recent_sends={"email": (AT - timedelta(days=2),)},
        existing_customer=True,
    )


def mixed_customer(rng: random.Random, i: int) -> CustomerFacts:
    """A customer drawn from a realistic population: mostly allowed, some denied or deferred."""
    base = allow_path_customer(i)
    roll = rng.random()
    changes: dict[str, object] = {}
    if roll < 0.05:
        changes["objected"] = True
    elif roll < 0.10:
        changes["consents"] = {}
        changes["existing_customer"] = False
    elif roll < 0.15:
        withdrawn = ConsentFact("withdrawn", None, None, None, False)
        changes["consents"] = {("offers", "email"): withdrawn}
    elif roll < 0.20:
        changes["shared_fields"] = {"offers": frozenset({"language"})}
    elif roll < 0.25:
        changes["recent_sends"] = {"email": tuple(AT - timedelta(days=d) for d in (1, 2, 3))}
    elif roll < 0.30:
        changes["contact_windows"] = (ContactWindow(frozenset({5, 6}), clock(10), clock(12)),)
    elif roll < 0.35:
        changes["timezone"] = "America/New_York"  # 06:30 local: quiet hours
    elif roll < 0.40:
        changes["jurisdiction"], changes["timezone"] = "US", "America/Chicago"
    fields = {name: getattr(base, name) for name in base.__slots__}
    fields.update(changes)
    return CustomerFacts(**fields)


def measure(
    label: str, policy_set: PolicySet, customers: list, intent: Intent, n: int
) -> tuple[float, float]:
    """Decisions per second over ``n`` decisions cycling through ``customers``, best of three:
    per second of wall clock and per CPU second of this process (which a busy machine barely
    moves)."""
    rounds = max(1, n // len(customers))
    best = best_cpu = 0.0
    for attempt in range(3):
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            for customer in customers:
                decide(policy_set, customer, intent)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        rate, cpu_rate = rounds * len(customers) / elapsed, rounds * len(customers) / cpu
        best, best_cpu = max(best, rate), max(best_cpu, cpu_rate)
        print(
            f"  {label} run {attempt + 1}: {rate:,.0f} decisions/s, {cpu_rate:,.0f} per CPU second",
            flush=True,
        )
    return best, best_cpu


def bench_decisions(quick: bool) -> list[str]:
    """Single-customer decisions per second on pre-loaded facts."""
    policy_set = load_policies("policies")
    intent = Intent("offers", "email", AT, FIELDS)
    n = 50_000 if quick else 1_000_000
    allow = [allow_path_customer(i) for i in range(1000)]
    assert decide(policy_set, allow[0], intent).outcome == "allow"
    rng = random.Random(7)
    mix = [mixed_customer(rng, i) for i in range(1000)]
    counts = count_outcomes(decide(policy_set, c, intent) for c in mix)
    print("mix:", ", ".join(f"{o}/{r}={n}" for (o, r), n in sorted(counts.items())), flush=True)
    print(f"allow path, every rule applied, {n:,} decisions", flush=True)
    allow_rate, allow_cpu = measure("allow", policy_set, allow, intent, n)
    print(f"realistic mix, {n:,} decisions", flush=True)
    mix_rate, mix_cpu = measure("mix", policy_set, mix, intent, n)
    verdict = "meets" if min(allow_rate, mix_rate) >= TARGET else "MISSES"
    print(f"{verdict} the target of {TARGET:,} decisions/s", flush=True)
    return [
        f"RESULT policy_decisions_per_s {allow_rate:.0f} decisions/s",
        f"RESULT policy_mix_decisions_per_s {mix_rate:.0f} decisions/s",
        f"RESULT policy_decisions_per_cpu_s {allow_cpu:.0f} decisions/s",
        f"RESULT policy_mix_decisions_per_cpu_s {mix_cpu:.0f} decisions/s",
    ]


SECTIONS: list[Callable[[bool], list[str]]] = [bench_decisions, bench_audience]


def main() -> None:
    """Run every section and print the RESULT lines last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--audience-only", action="store_true", help="only bench_audience")
    parser.add_argument("--no-audience", action="store_true", help="skip bench_audience")
    args = parser.parse_args()
    results: list[str] = []
    sections = [bench_audience] if args.audience_only else SECTIONS
    if args.no_audience:
        sections = [s for s in sections if s is not bench_audience]
    for section in sections:
        print(f"== {section.__name__}", flush=True)
        results.extend(section(args.quick))
    print("\n".join(results))


if __name__ == "__main__":
    main()
