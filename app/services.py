"""Domain runtime: key rings, signing key and the policies, checked when the application starts.

Everything here is checked when the application starts, so a bad key or an invalid policy
file stops the start with a message that names the setting or file, instead of failing later
while a campaign runs. The policies that decide are not this process's files but the set in
force that the database names (:func:`app.decisions.in_force.policies_in_force`), so every
process decides alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from app.decisions.in_force import POLICIES_KEY, PoliciesInForce, policies_in_force
from app.decisions.models import PolicySetRevision
from app.extensions import db
from app.policy import load_policies
from app.policy.document import JURISDICTION_CODE
from app.policy.policyset import PolicySet
from app.settings import Settings, current_settings
from config import ConfigError

EXTENSION_KEY = "assenso"


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


def purpose_labels(language: str = "en") -> dict[str, str]:
    """``{purpose: label}`` in ``language`` (else English, else the id), from the first policy
    that declares each purpose."""
    found: dict[str, str] = {}
    for policy in policies_in_force().policies:
        for purpose_id, purpose in policy.purposes.items():
            if purpose_id not in found:
                labels = purpose.labels
                found[purpose_id] = labels.get(language) or labels.get("en") or purpose_id
    return found


def known_channels() -> list[str]:
    """Every channel declared by any loaded policy."""
    seen: dict[str, None] = {}
    for policy in policies_in_force().policies:
        seen.update(dict.fromkeys(policy.channels))
    return list(seen)


def policy_for(jurisdiction: str):
    """The policy governing ``jurisdiction`` (or the default one), else ``None``."""
    return policies_in_force().for_jurisdiction(jurisdiction)
