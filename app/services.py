"""Domain runtime: key rings, signing key and policies, loaded once per application.

Everything here is checked when the application starts, so a bad key or an invalid policy
file stops the start with a message that names the setting or file, instead of failing later
while a campaign runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from config import ConfigError

EXTENSION_KEY = "assenso"


@dataclass(frozen=True)
class Runtime:
    """What the domain services need from configuration, parsed and validated."""

    vault_keys: Any
    blind_index_keys: Any
    signing_key: Any
    policies: Any
    ledger_origin: str


def _parse(setting: str, parse, value):
    try:
        return parse(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"ASSENSO_{setting} is invalid: {exc}") from None


def build_runtime(config) -> Runtime:
    """Parse and check the key rings, the signing key and every policy file."""
    from app.ledger.checkpoint import load_private_key
    from app.policy import load_policies
    from app.vault.keyring import KeyRing

    policies = load_policies(config["POLICY_DIR"])
    check_default_jurisdiction(config.get("DEFAULT_JURISDICTION", "EU"), policies)
    return Runtime(
        vault_keys=_parse("VAULT_KEYS", KeyRing.parse, config["VAULT_KEYS"]),
        blind_index_keys=_parse("BLIND_INDEX_KEYS", KeyRing.parse, config["BLIND_INDEX_KEYS"]),
        signing_key=_parse("LEDGER_SIGNING_KEY", load_private_key, config["LEDGER_SIGNING_KEY"]),
        policies=policies,
        ledger_origin=config["LEDGER_ORIGIN"],
    )


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
    app.extensions[EXTENSION_KEY] = build_runtime(app.config)


def runtime() -> Runtime:
    """The runtime of the current application."""
    return current_app.extensions[EXTENSION_KEY]


def replace_policies(app: Flask, policies) -> None:
    """Swap in a newly loaded policy set (an explicit, recorded action)."""
    current = app.extensions[EXTENSION_KEY]
    app.extensions[EXTENSION_KEY] = Runtime(
        vault_keys=current.vault_keys,
        blind_index_keys=current.blind_index_keys,
        signing_key=current.signing_key,
        policies=policies,
        ledger_origin=current.ledger_origin,
    )


def known_purposes() -> list[str]:
    """Every purpose declared by any loaded policy, in declaration order."""
    seen: dict[str, None] = {}
    for policy in runtime().policies.policies:
        seen.update(dict.fromkeys(policy.purposes))
    return list(seen)


def known_channels() -> list[str]:
    """Every channel declared by any loaded policy."""
    seen: dict[str, None] = {}
    for policy in runtime().policies.policies:
        seen.update(dict.fromkeys(policy.channels))
    return list(seen)


def policy_for(jurisdiction: str):
    """The policy governing ``jurisdiction`` (or the default one), else ``None``."""
    return runtime().policies.for_jurisdiction(jurisdiction)
