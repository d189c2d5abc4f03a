"""Domain runtime: key rings, signing key and the policies, checked when the application starts.

Everything here is checked when the application starts, so a bad key or an invalid policy
file stops the start with a message that names the setting or file, instead of failing later
while a campaign runs. The policies that decide are not this process's files but the set in
force that the database names (:func:`policies_in_force`), so every process decides alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.policy import load_policies
from app.policy.in_force import InForce, PoliciesInForce
from app.policy.models import PolicySetRevision
from app.policy.policyset import PolicySet
from app.settings import Settings, current_settings
from config import ConfigError

EXTENSION_KEY = "assenso"
POLICIES_KEY = "assenso.policies"
#: Where the set in force checked for the current application context is kept (on ``g``).
_CHECKED = "assenso_policies_in_force"


@dataclass(frozen=True)
class Runtime:
    """What the domain services need from configuration, parsed and validated."""

    vault_keys: Any
    blind_index_keys: Any
    signing_key: Any
    ledger_origin: str


def _parse(setting: str, parse, value):
    try:
        return parse(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"ASSENSO_{setting} is invalid: {exc}") from None


def build_runtime(settings: Settings) -> Runtime:
    """Parse and check the key rings and the signing key."""
    from app.ledger.checkpoint import load_private_key
    from app.vault.keyring import KeyRing

    return Runtime(
        vault_keys=_parse("VAULT_KEYS", KeyRing.parse, settings.vault_keys),
        blind_index_keys=_parse("BLIND_INDEX_KEYS", KeyRing.parse, settings.blind_index_keys),
        signing_key=_parse("LEDGER_SIGNING_KEY", load_private_key, settings.ledger_signing_key),
        ledger_origin=settings.ledger_origin,
    )


def policies_on_disk(settings: Settings) -> PolicySet:
    """Load and check every policy file of ``ASSENSO_POLICY_DIR`` and the sign-up jurisdiction."""
    policies = load_policies(settings.policy_dir)
    check_default_jurisdiction(settings.default_jurisdiction, policies)
    return policies


def check_default_jurisdiction(code: str, policies) -> None:
    """Refuse a sign-up jurisdiction that is malformed or that no policy governs.

    Every customer who signs up in the portal is placed in it; with no policy behind it the
    engine would deny every message to them, a silent failure better caught at start.
    """
    from app.policy.model import JURISDICTION_CODE

    if not isinstance(code, str) or not JURISDICTION_CODE.fullmatch(code):
        raise ConfigError(
            f"ASSENSO_DEFAULT_JURISDICTION must be a two-letter code such as EU or IT, got {code!r}"
        )
    if policies.for_jurisdiction(code) is None:
        raise ConfigError(
            f"ASSENSO_DEFAULT_JURISDICTION {code!r} is governed by no policy file and there is "
            "no default policy; add it to a policy's jurisdictions or name a covered one"
        )


def init_app(app: Flask) -> None:
    """Build the runtime for ``app``; raises on any invalid key or policy file."""
    settings = current_settings(app)
    on_disk = policies_on_disk(settings)
    app.extensions[EXTENSION_KEY] = build_runtime(settings)
    app.extensions[POLICIES_KEY] = PoliciesInForce(on_disk, str(settings.policy_dir))


def record_first_policies(app: Flask) -> None:
    """At start, record the files found here as the first set in force if the database holds
    none yet (skipped while the database is not migrated, as during ``flask db upgrade``)."""
    with app.app_context():
        try:
            if inspect(db.engine).has_table(PolicySetRevision.__tablename__):
                app.extensions[POLICIES_KEY].record_if_none(db.engine)
        except OperationalError as exc:
            raise ConfigError(
                f"the database cannot be reached ({type(exc).__name__}); check DATABASE_URL"
            ) from None


def runtime() -> Runtime:
    """The runtime of the current application."""
    return current_app.extensions[EXTENSION_KEY]


def policies_in_force() -> PolicySet:
    """The policy set in force for the current unit of work.

    Checked against the database on first use in each application context (a web request, a
    scheduler job, a command); long-lived loops call :func:`refresh_policies` per batch.
    """
    found = g.get(_CHECKED)
    return found if found is not None else refresh_policies()


def refresh_policies() -> PolicySet:
    """Check the database now (one indexed read) and use the set in force from here on.

    Called once per delivery batch and per campaign run; when another process loaded a new
    set, this process's copy is rebuilt from the stored texts.
    """
    return check_in_force().policies


def check_in_force() -> InForce:
    """:func:`refresh_policies` with the id of the set revision it found."""
    found = current_app.extensions[POLICIES_KEY].current(db.engine)
    setattr(g, _CHECKED, found.policies)
    return found


def policies_on_this_machine() -> PolicySet:
    """The policy files this process found in ``POLICY_DIR`` when it started."""
    return current_app.extensions[POLICIES_KEY].on_disk


def known_purposes() -> list[str]:
    """Every purpose declared by any loaded policy, in declaration order."""
    seen: dict[str, None] = {}
    for policy in policies_in_force().policies:
        seen.update(dict.fromkeys(policy.purposes))
    return list(seen)


def marketing_purposes() -> list[str]:
    """The purposes a campaign may use: direct marketing in every policy that declares them."""
    policies = policies_in_force().policies
    return [
        purpose
        for purpose in known_purposes()
        if all(p.purposes[purpose].direct_marketing for p in policies if purpose in p.purposes)
    ]


def known_channels() -> list[str]:
    """Every channel declared by any loaded policy."""
    seen: dict[str, None] = {}
    for policy in policies_in_force().policies:
        seen.update(dict.fromkeys(policy.channels))
    return list(seen)


def policy_for(jurisdiction: str):
    """The policy governing ``jurisdiction`` (or the default one), else ``None``."""
    return policies_in_force().for_jurisdiction(jurisdiction)
