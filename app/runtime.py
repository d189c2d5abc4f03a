"""The runtime the domain services read: keys, the policy sets, the settings and the clock.

:func:`app.startup.init_runtime` builds it once when the application starts, after checking
every key and policy file, and keeps it on the application; :func:`runtime` returns it. A
service that already has it in hand (a worker, a command) may pass it on instead of asking
the application again.

The key types are named for the type checker only: the runtime is built above every domain
(:mod:`app.startup`), while the domains, the vault among them, read it from below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app

from app.models_base import utcnow
from app.settings import Settings

if TYPE_CHECKING:
    from app.policy_sets.in_force import PoliciesInForce
    from app.vault.keyring import KeyRing

#: Where the application keeps its :class:`Runtime` (``app.extensions``).
EXTENSION_KEY = "assenso"


@dataclass(frozen=True)
class Runtime:
    """What the domain services need from configuration, parsed and validated."""

    #: Key-encryption keys wrapping each customer's data key.
    vault_keys: KeyRing
    #: Keys of the e-mail blind index.
    blind_index_keys: KeyRing
    #: The key signing the ledger's checkpoints.
    signing_key: Ed25519PrivateKey
    #: The origin line of the ledger's checkpoints.
    ledger_origin: str
    #: The policy files found at start and this process's copy of the set in force.
    policies: PoliciesInForce
    #: Every setting, typed (:mod:`app.settings`).
    settings: Settings
    #: The current time, aware UTC (tests may pass a fixed one).
    clock: Callable[[], datetime] = utcnow


def runtime(app: Flask | None = None) -> Runtime:
    """The runtime of ``app``, by default the current application."""
    return cast(Runtime, (app or current_app).extensions[EXTENSION_KEY])
