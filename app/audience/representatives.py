"""Decisions for whole classes of customers, each taken by the engine on a representative.

Customers of one class (:mod:`app.audience.query`) have the same facts as far as the engine
looks, so one :func:`~app.policy.engine.decide` on a representative decides them all: it passes
every coarse rule except the one its reason code names, which it fails the same way (hence the
engine's very message). A class decided by another rule than its code is a bug and raises
:class:`ClassMismatch` (nothing is sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.audience.prefilter import PREFILTER_RULES
from app.policy.decision import Decision
from app.policy.deferrals import weekly_limit
from app.policy.engine import decide, resolve
from app.policy.facts import ConsentFact, ContactWindow, CustomerFacts, Intent
from app.policy.plan import Plan
from app.policy.policyset import PolicySet

_LONG_AGO = datetime(1, 1, 1, tzinfo=UTC)
_ADULT = 1000


class ClassMismatch(RuntimeError):
    """The engine decided a class representative by another rule than SQL classified it."""


class Representatives:
    """Decisions per reason code and per (jurisdiction, time zone), cached for one intent."""

    def __init__(self, policy_set: PolicySet, intent: Intent) -> None:
        self.policy_set, self.intent = policy_set, intent
        self._cache: dict[tuple[str, str, str], Decision] = {}
        self._limits_cache: dict[tuple, Decision] = {}
        self._passing_cache: dict[tuple[str, str], dict[str, Any]] = {}
        self._limit_cache: dict[tuple[str, int | None], int | None] = {}

    def _passing(self, jurisdiction: str, timezone: str) -> dict[str, Any]:
        """Facts passing every prefilter rule of any policy for this intent (built once per
        place; nothing changes the values, and each use makes a dict of its own)."""
        key = (jurisdiction, timezone)
        found = self._passing_cache.get(key)
        if found is None:
            found = self._passing_cache[key] = self._built_passing(jurisdiction, timezone)
        return found

    def _built_passing(self, jurisdiction: str, timezone: str) -> dict[str, Any]:
        intent = self.intent
        consent = ConsentFact("granted", intent.at, None, "consent", True)
        return {
            "customer_id": 0,
            "jurisdiction": jurisdiction,
            "timezone": timezone,
            "age_attested": _ADULT,
            "consents": {(intent.purpose, intent.channel): consent},
            "verified_channels": frozenset({intent.channel}),
            "shared_fields": {intent.purpose: intent.template_fields},
            "existing_customer": True,
        }

    def _failing(self, code: str) -> dict[str, Any]:
        """The change that makes the passing facts fail the way ``code`` says."""
        rule, _, detail = code.partition(":")
        at, key = self.intent.at, (self.intent.purpose, self.intent.channel)
        consent_of: dict[str, ConsentFact] = {
            "consent_expired": ConsentFact("expired"),
            "consent_expired:undated": ConsentFact("granted", None, None, "consent", True),
            "consent_expired:old": ConsentFact("granted", _LONG_AGO, None, "consent", True),
            "double_opt_in:pending": ConsentFact("pending", at),
            "double_opt_in:unconfirmed": ConsentFact("granted", at, None, "consent", False),
        }
        consent = consent_of.get(code)
        if consent is not None:
            return {"consents": {key: consent}}
        if rule == "lawful_basis":
            return {"consents": {key: ConsentFact(detail)}, "existing_customer": False}
        if rule == "data_minimisation" and detail:
            unshared = frozenset(detail.split(",")) - {""}
            return {"shared_fields": {key[0]: self.intent.template_fields - unshared}}
        changes: dict[str, dict[str, Any]] = {
            "objection": {"objected": True},
            "suppression": {"suppressions": frozenset({self.intent.channel})},
            "suppression:*": {"suppressions": frozenset({"*"})},
            "minimum_age": {"age_attested": None},
            "channel_address": {"verified_channels": frozenset()},
        }
        return changes.get(code, {})

    def denial(self, jurisdiction: str, timezone: str, code: str) -> Decision:
        """The decision for customers SQL classified with the prefilter reason ``code``."""
        key = (jurisdiction, timezone, code)
        found = self._cache.get(key)
        if found is None:
            facts = CustomerFacts(**(self._passing(jurisdiction, timezone) | self._failing(code)))
            found = decide(self.policy_set, facts, self.intent)
            if found.rule_id != code.partition(":")[0]:
                raise ClassMismatch(f"reason {code} was decided by rule {found.rule_id}")
            self._cache[key] = found
        return found

    def limited(
        self,
        jurisdiction: str,
        timezone: str,
        windows: tuple[ContactWindow, ...],
        weekly_cap: int | None,
        paused_until: datetime | None,
        sends: Sequence[datetime],
    ) -> Decision:
        """The decision for one survivor, on their own limits and recent sends.

        ``sends`` are the customer's counted sends on the channel in the week before
        ``intent.at``. The engine reads them only in the frequency cap, and only when there are
        at least as many as the weekly limit: counted sends only leave the window as time goes
        on (the deferral search only moves forward), so fewer than the limit now means fewer
        at every later moment it tries, and the sends are dropped. At or over the limit, the
        cap waits for the limit-th most recent send to leave the window, and the older ones
        leave before it: only the ``limit`` most recent are kept. Survivors with the same
        limits in the same place and the same kept sends get the same decision, decided once.
        """
        sends = self._read_sends(jurisdiction, weekly_cap, sends)
        key = (jurisdiction, timezone, windows, weekly_cap, paused_until, sends)
        found = self._limits_cache.get(key)
        if found is not None:
            return found
        facts = CustomerFacts(
            **self._passing(jurisdiction, timezone),
            contact_windows=windows,
            weekly_cap=weekly_cap,
            paused_until=paused_until,
            recent_sends={self.intent.channel: sends},
        )
        decision = decide(self.policy_set, facts, self.intent)
        if decision.rule_id in PREFILTER_RULES and decision.rule_id not in _LOOKUPS:
            raise ClassMismatch(f"a survivor was denied by {decision.rule_id}")
        if not sends or len(self._limits_cache) < _CACHED_WITH_SENDS:
            self._limits_cache[key] = decision
        return decision

    def _read_sends(
        self, jurisdiction: str, weekly_cap: int | None, sends: Sequence[datetime]
    ) -> tuple[datetime, ...]:
        """The sends the engine can read, sorted: none below the weekly limit, else the
        ``limit`` most recent (see :meth:`limited`)."""
        if not sends:
            return ()
        limit = self.weekly_limit(jurisdiction, weekly_cap)
        if limit is None or len(sends) < limit:
            return ()
        return tuple(sorted(sends)[-limit:])

    def send_threshold(self, jurisdictions: Sequence[str]) -> int | None:
        """The smallest positive weekly maximum the policies of ``jurisdictions`` set for the
        intent, before any customer's own cap (``None`` when none sets one); see
        :meth:`~app.audience.lookups.Lookups.sends_reach`."""
        found = []
        for jurisdiction in jurisdictions:
            plan = resolve(self.policy_set, jurisdiction, self.intent.purpose, self.intent.channel)
            if isinstance(plan, Plan):
                limit = weekly_limit(plan, None, self.intent)
                if limit is not None and limit > 0:
                    found.append(limit)
        return min(found, default=None)

    def weekly_limit(self, jurisdiction: str, weekly_cap: int | None) -> int | None:
        """The positive weekly limit the frequency cap applies, or ``None`` (sends ignored)."""
        key = (jurisdiction, weekly_cap)
        if key not in self._limit_cache:
            self._limit_cache[key] = self._computed_limit(jurisdiction, weekly_cap)
        return self._limit_cache[key]

    def _computed_limit(self, jurisdiction: str, weekly_cap: int | None) -> int | None:
        intent = self.intent
        plan = resolve(self.policy_set, jurisdiction, intent.purpose, intent.channel)
        if not isinstance(plan, Plan) or all(r != "frequency_cap" for r, _ in plan.defer_checks):
            return None
        limit = weekly_limit(plan, weekly_cap, intent)
        return limit if limit is not None and limit > 0 else None


_LOOKUPS = frozenset({"jurisdiction_unknown", "purpose_unknown", "channel_unknown"})
#: Decisions kept for survivors whose send times matter (nearly one per customer when the
#: times are all different): enough for a batch, bounded for audiences of millions.
_CACHED_WITH_SENDS = 65536
