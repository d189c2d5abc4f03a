"""Reading the settings: environment (or a test's overrides), parsers, defaults, checks.

Every problem stops the start with a :class:`config.ConfigError` naming the variable: an
unknown boolean ("ture"), a number out of range, a secret missing in production, settings that
contradict each other.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import fields
from functools import cache
from typing import Any

from app.settings.catalogue import Settings
from app.settings.declare import SPEC, Defaults, Setting
from config import ConfigError, env_file, generate_secrets, load_development_secrets

log = logging.getLogger("assenso.config")


@cache
def declarations() -> dict[str, Setting]:
    """Every declared setting by field name, in declaration order."""
    return {f.name: f.metadata[SPEC] for f in fields(Settings)}


def override_name(spec: Setting) -> str:
    """The name a test override uses: the variable without ``ASSENSO_`` (``SMTP_PORT``)."""
    return spec.variable.removeprefix("ASSENSO_")


def load_settings(
    environment: str | None = None,
    overrides: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings of ``environment`` (default ``ASSENSO_ENV``, else development).

    ``overrides`` (tests and benchmarks) replace variables by :func:`override_name` and go
    through the same parsers and checks; an override of ``None`` leaves it to the environment.
    """
    given = dict(overrides or {})
    if environment is not None:
        given["ENV"] = environment
    unknown = set(given) - {override_name(spec) for spec in declarations().values()}
    if unknown:
        raise TypeError(f"not settings: {', '.join(sorted(unknown))}")
    source = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    name = _read(declarations()["environment"], "development", given, source)
    values["environment"] = "development" if name is UNSET else name
    secrets = _Secrets(values)
    for field_name, spec in declarations().items():
        if field_name == "environment":
            continue
        value = _read(spec, values["environment"], given, source)
        if value is UNSET:
            value = spec.default_for(Defaults(values["environment"], values, secrets.get))
        values[field_name] = value
    settings = Settings(**values)
    check(settings)
    return settings


#: What :func:`_read` answers for a variable that is not set.
UNSET: Any = object()


def _read(
    spec: Setting, environment: str, given: Mapping[str, object], environ: Mapping[str, str]
) -> Any:
    """One setting's parsed value from its override or variable, else :data:`UNSET`."""
    variable = spec.variable
    if environment == "testing" and spec.testing_variable:
        variable = spec.testing_variable
    key = override_name(spec)
    raw = str(given[key]) if given.get(key) is not None else _variable(variable, environ)
    if raw is None or not raw.strip():
        if environment in spec.required_in:
            raise ConfigError(f"{variable} is required in {environment} and is not set")
        return UNSET
    try:
        return spec.parse(raw.strip())
    except ValueError as exc:
        shown = "" if spec.secret else f", got {raw.strip()!r}"
        raise ConfigError(f"{variable} {exc}{shown}") from None


def _variable(variable: str, environ: Mapping[str, str]) -> str | None:
    """The text of ``variable``, or of the file its ``…_FILE`` variable names (container
    secrets, systemd credentials); setting both is an error naming them."""
    value = environ.get(variable)
    path = environ.get(f"{variable}_FILE")
    if path is None or not path.strip():
        return value
    if value is not None and value.strip():
        raise ConfigError(f"{variable} and {variable}_FILE are both set: set only one of them")
    return env_file(variable, path.strip())


class _Secrets:
    """Secrets that are not set: from ``instance/secrets.json`` in development (generated
    once, with a warning), fresh for every test application; read on first need only."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.found: Mapping[str, str] | None = None

    def get(self) -> Mapping[str, str]:
        """The secrets of this environment (never asked in production: they are required)."""
        if self.found is None:
            if self.values["environment"] == "development":
                self.found = load_development_secrets(self.values["instance_path"])
            else:
                self.found = generate_secrets()
        return self.found


def check(settings: Settings) -> None:
    """Checks that span settings, and what production refuses."""
    for kind in ("staff", "customer"):
        idle = getattr(settings, f"{kind}_session_idle_minutes")
        hours = getattr(settings, f"{kind}_session_hours")
        if idle > hours * 60:
            raise ConfigError(
                f"ASSENSO_{kind.upper()}_SESSION_IDLE_MINUTES ({idle}) is longer than "
                f"ASSENSO_{kind.upper()}_SESSION_HOURS ({hours} h)"
            )
    dkim = (settings.dkim_selector, settings.dkim_domain, settings.dkim_key_path)
    if any(dkim) and not all(dkim):
        raise ConfigError(
            "DKIM needs ASSENSO_DKIM_SELECTOR, ASSENSO_DKIM_DOMAIN and ASSENSO_DKIM_KEY_PATH"
        )
    if settings.environment == "production":
        refuse_development_features(settings)


def refuse_development_features(settings: Settings) -> None:
    """Refuse what is safe only on a developer's machine; warn about per-process counters."""
    if settings.dev_mailbox:
        raise ConfigError(
            "ASSENSO_DEV_MAILBOX is refused in production: the development mailbox keeps "
            "every message (personal data) and shows it on a web page; unset it"
        )
    if settings.ratelimit_storage_uri.startswith("memory"):
        log.warning(
            "ASSENSO_RATELIMIT_STORAGE_URI is memory://: each process counts attempts on "
            "its own; set redis://… when more than one web process serves"
        )
