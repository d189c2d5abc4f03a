"""Checks at start: the key rings, the signing key and the policy files, built into the runtime.

Everything here runs when the application starts, so a bad key or an invalid policy file
stops the start with a message that names the setting or file, instead of failing later while
a campaign runs. The policies that decide are not this process's files but the set in force
that the database names (:func:`app.policy_sets.in_force.policies_in_force`), so every process
decides alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.ledger.checkpoint import load_private_key
from app.policy import load_policies
from app.policy.document import JURISDICTION_CODE
from app.policy.policyset import PolicySet
from app.policy_sets.in_force import PoliciesInForce
from app.policy_sets.models import PolicySetRevision
from app.runtime import EXTENSION_KEY, Runtime, runtime
from app.settings import Settings, current_settings
from app.vault.keyring import KeyRing
from config import ConfigError

T = TypeVar("T")


def _parse(setting: str, parse: Callable[[str], T], value: str) -> T:
    try:
        return parse(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"ASSENSO_{setting} is invalid: {exc}") from None


def build_runtime(settings: Settings, policies: PoliciesInForce) -> Runtime:
    """Parse and check the key rings and the signing key."""
    return Runtime(
        vault_keys=_parse("VAULT_KEYS", KeyRing.parse, settings.vault_keys),
        blind_index_keys=_parse("BLIND_INDEX_KEYS", KeyRing.parse, settings.blind_index_keys),
        signing_key=_parse("LEDGER_SIGNING_KEY", load_private_key, settings.ledger_signing_key),
        ledger_origin=settings.ledger_origin,
        policies=policies,
        settings=settings,
    )


def policies_on_disk(settings: Settings) -> PolicySet:
    """Load and check every policy file of ``ASSENSO_POLICY_DIR`` and the sign-up jurisdiction."""
    policies = load_policies(settings.policy_dir)
    check_default_jurisdiction(settings.default_jurisdiction, policies)
    return policies


def check_default_jurisdiction(code: str, policies: PolicySet) -> None:
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


def init_runtime(app: Flask) -> None:
    """Build the runtime for ``app``; raises on any invalid key or policy file."""
    settings = current_settings(app)
    on_disk = policies_on_disk(settings)
    policies = PoliciesInForce(on_disk, str(settings.policy_dir))
    app.extensions[EXTENSION_KEY] = build_runtime(settings, policies)


def record_first_policies(app: Flask) -> None:
    """At start, record the files found here as the first set in force if the database holds
    none yet (skipped while the database is not migrated, as during ``flask db upgrade``)."""
    with app.app_context():
        try:
            if inspect(db.engine).has_table(PolicySetRevision.__tablename__):
                runtime(app).policies.record_if_none(db.engine)
        except OperationalError as exc:
            raise ConfigError(
                f"the database cannot be reached ({type(exc).__name__}); check DATABASE_URL"
            ) from None
