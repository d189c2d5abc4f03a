"""Builders shared by the policy tests (no tests here).

``customer(**changes)`` is an Italian customer every rule passes for when ``intent()`` (offers
by e-mail on Wednesday 15 May 2024, 12:30 in Rome) is decided under the shipped policies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from app.policy import ConsentFact, ContactWindow, CustomerFacts, Intent, load_policies

POLICIES = Path(__file__).resolve().parents[2] / "policies"
POLICY_SET = load_policies(POLICIES)
EU = POLICY_SET.by_id["eu-gdpr"]
US = POLICY_SET.by_id["us-can-spam"]
AT = datetime(2024, 5, 15, 10, 30, tzinfo=UTC)  # Wednesday, 12:30 in Rome
WEEKDAYS = frozenset(range(5))


def granted(days_ago: int = 100, confirmed: bool = True, **changes) -> ConsentFact:
    """A granted consent given ``days_ago`` days before ``AT``."""
    values = {
        "status": "granted",
        "granted_at": AT - timedelta(days=days_ago),
        "expires_at": None,
        "lawful_basis": "consent",
        "confirmed": confirmed,
    }
    values.update(changes)
    return ConsentFact(**values)


def window(start: str, end: str, weekdays=WEEKDAYS) -> ContactWindow:
    """A contact window from ``HH:MM`` to ``HH:MM`` on ``weekdays``."""
    return ContactWindow(frozenset(weekdays), clock.fromisoformat(start), clock.fromisoformat(end))


def customer(**changes) -> CustomerFacts:
    """A consenting Italian customer; keyword arguments replace any fact."""
    values = {
        "customer_id": 1,
        "jurisdiction": "IT",
        "timezone": "Europe/Rome",
        "age_attested": 18,
        "consents": {(p, c): granted() for p in EU.purposes for c in EU.channels},
        "objected": False,
        "suppressions": frozenset(),
        "verified_channels": frozenset({"email", "sms"}),
        "shared_fields": {p: purpose.fields for p, purpose in EU.purposes.items()},
        "contact_windows": (),
        "weekly_cap": None,
        "paused_until": None,
        "recent_sends": {},
        "existing_customer": False,
    }
    values.update(changes)
    return CustomerFacts(**values)


def intent(purpose: str = "offers", channel: str = "email", at: datetime = AT, **changes) -> Intent:
    """Offers by e-mail at ``AT`` using first name and language, unless told otherwise."""
    fields = changes.pop("template_fields", frozenset({"first_name", "language"}))
    return Intent(purpose, channel, at, frozenset(fields), **changes)


def rome(*args: int) -> datetime:
    """A wall-clock time in Rome (fold 0)."""
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Rome"))


# --- Hypothesis strategies: random policies, customers and intents -------------------------

from hypothesis import strategies as st  # noqa: E402

from app.policy import (  # noqa: E402
    PROFILE_FIELDS,
    Channel,
    Policy,
    PolicySet,
    Purpose,
    QuietHours,
    Settings,
)

FIELD_LIST = sorted(PROFILE_FIELDS)
CHANNELS = ("email", "sms")
STATUSES = ("granted", "pending", "withdrawn", "expired", "none")
ZONES = ("Europe/Rome", "America/New_York", "Australia/Lord_Howe", "UTC", "Nowhere/Else")
START = datetime(2024, 1, 1, tzinfo=UTC)
fields_st = st.frozensets(st.sampled_from(FIELD_LIST), max_size=4)
clock_st = st.builds(clock, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
weekdays_st = st.frozensets(st.integers(0, 6), min_size=1)
rarely = st.integers(0, 9).map(lambda n: n == 0)  # True one time in ten
moments = st.integers(0, 2 * 365 * 24 * 4).map(lambda q: START + timedelta(minutes=15 * q))


@st.composite
def purposes(draw, ident: str) -> Purpose:
    marketing = draw(st.booleans())
    return Purpose(
        id=ident,
        labels={"en": ident, "it": ident},
        description=ident,
        lawful_basis=draw(st.sampled_from(["consent", "legitimate_interest", "contract"])),
        fields=draw(fields_st),
        profiling=draw(st.booleans()),
        direct_marketing=marketing,
        consent_validity_days=draw(st.none() | st.integers(1, 800)),
        repermission_lead_days=None,
        transactional=not marketing and draw(st.booleans()),
    )


@st.composite
def quiet_hours(draw) -> QuietHours:
    start = draw(clock_st)
    end = draw(st.none() | clock_st.filter(lambda c: c != start))
    channels = draw(st.frozensets(st.sampled_from(CHANNELS), min_size=1))
    return QuietHours(channels, start, end, draw(weekdays_st))


@st.composite
def policies(draw) -> Policy:
    """A random but semantically valid policy governing IT and US."""
    ids = ("offers", "birthday", "service")
    models = {c: draw(st.sampled_from(["opt_in", "opt_out"])) for c in CHANNELS}
    channels = {
        c: Channel(
            c, "email" if c == "email" else "phone", models[c] == "opt_in" and draw(st.booleans())
        )
        for c in CHANNELS
    }
    settings = Settings(
        model=models,
        minimum_age=draw(st.none() | st.integers(0, 21)),
        soft_opt_in_allowed=draw(st.booleans()),
        soft_opt_in_channels=draw(st.frozensets(st.sampled_from(CHANNELS))),
        soft_opt_in_purposes=draw(st.frozensets(st.sampled_from(ids))),
        quiet_hours=tuple(draw(st.lists(quiet_hours(), max_size=2))),
        max_per_week={c: draw(st.integers(1, 4)) for c in draw(st.sets(st.sampled_from(CHANNELS)))},
        customer_limits_apply=draw(st.booleans()),
    )
    return Policy(
        policy_id="random",
        version="1",
        title="random",
        jurisdictions=("IT", "US"),
        default=draw(st.booleans()),
        purposes={i: draw(purposes(i)) for i in ids},
        channels=channels,
        settings=settings,
        sha256="0" * 64,
        source_text="",
    )


policy_sets = st.one_of(st.just(POLICY_SET), policies().map(lambda p: PolicySet([p])))


@st.composite
def consent_facts(draw, at: datetime) -> ConsentFact:
    offset = st.integers(-900 * 24, 900 * 24).map(lambda h: at + timedelta(hours=h))
    return ConsentFact(
        status=draw(st.sampled_from(STATUSES) if draw(rarely) else st.just("granted")),
        granted_at=draw(st.none() | offset),
        expires_at=draw(st.none() | offset),
        lawful_basis=draw(st.none() | st.just("consent")),
        confirmed=not draw(rarely),
    )


@st.composite
def customers(draw, at: datetime, jurisdictions=("IT", "US", "FR", "CH")) -> CustomerFacts:
    """A random customer around ``at``: any mix of facts, including contradictory ones."""
    keys = [(p, c) for p in ("offers", "birthday", "service", "surveys") for c in CHANNELS]
    sends = st.lists(
        st.integers(1, 7 * 24 * 4).map(lambda q: at - timedelta(minutes=15 * q)), max_size=6
    )
    windows = st.builds(ContactWindow, weekdays_st | st.just(frozenset()), clock_st, clock_st)
    return CustomerFacts(
        customer_id=draw(st.integers(1, 10**6)),
        jurisdiction=draw(st.sampled_from(jurisdictions)),
        timezone=draw(st.sampled_from(ZONES[:-1]) if not draw(rarely) else st.just(ZONES[-1])),
        age_attested=draw(st.none() | st.integers(0, 30) if draw(rarely) else st.just(30)),
        consents=draw(st.fixed_dictionaries({k: consent_facts(at) for k in keys}))
        if not draw(rarely)
        else draw(st.dictionaries(st.sampled_from(keys), consent_facts(at))),
        objected=draw(rarely),
        suppressions=draw(st.frozensets(st.sampled_from(("email", "sms", "*")), max_size=1))
        if draw(rarely)
        else frozenset(),
        verified_channels=draw(st.frozensets(st.sampled_from(CHANNELS)))
        if draw(rarely)
        else frozenset(CHANNELS),
        shared_fields=draw(st.dictionaries(st.sampled_from(("offers", "birthday")), fields_st))
        if draw(rarely)
        else {p: PROFILE_FIELDS for p in ("offers", "birthday", "service")},
        contact_windows=tuple(draw(st.lists(windows, max_size=2))),
        weekly_cap=draw(st.none() | st.integers(0, 4)),
        paused_until=draw(st.none() | st.integers(-72, 72).map(lambda h: at + timedelta(hours=h))),
        recent_sends={c: tuple(draw(sends)) for c in CHANNELS},
        existing_customer=draw(st.booleans()),
    )


@st.composite
def intents(draw) -> Intent:
    return Intent(
        purpose=draw(
            st.sampled_from(("offers", "birthday", "service", "offers") * 2 + ("lottery",))
        ),
        channel=draw(st.sampled_from(("email", "sms") * 4 + ("fax",))),
        at=draw(moments),
        template_fields=draw(st.frozensets(st.sampled_from(FIELD_LIST), max_size=2)),
        transactional=draw(st.booleans()),
        fallback_fields=draw(st.frozensets(st.sampled_from(FIELD_LIST), max_size=2)),
    )
