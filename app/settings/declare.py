"""How a setting is declared: its variable, what it is for, how its text is read, its default.

Each field of :class:`app.settings.catalogue.Settings` is declared with :func:`declared`, which
keeps a :class:`Setting` in the field's metadata. The loader (:mod:`app.settings.load`) reads
every declared variable from the environment (or a test's override), parses it with the
setting's parser, and fills in the default of the environment the application runs in. The
README's settings table is generated from the same declarations (:mod:`app.settings.readme`).

A parser takes the variable's text and returns the typed value, or raises ``ValueError`` with
the end of a sentence ("must be a whole number") that the loader prefixes with the variable's
name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

#: The ways the application runs (``ASSENSO_ENV``).
ENVIRONMENTS = ("development", "testing", "production")
#: Where each field keeps its declaration.
SPEC = "assenso.setting"

Parser = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a default may depend on: the environment and the settings declared before it."""

    environment: str
    values: Mapping[str, Any]
    secrets: Callable[[], Mapping[str, str]]


#: A default is a value, or a function of :class:`Defaults` (per environment, derived).
Default = Any


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its variable, one line on what it does, its parser and its default."""

    variable: str
    description: str
    parse: Parser
    default: Default
    shown: str
    required_in: tuple[str, ...] = ()
    secret: bool = False
    testing_variable: str | None = None

    def default_for(self, defaults: Defaults) -> Any:
        """The value used when the variable is not set."""
        return self.default(defaults) if callable(self.default) else self.default


def declared(
    variable: str,
    description: str,
    parse: Parser,
    default: Default = None,
    *,
    shown: str | None = None,
    required_in: tuple[str, ...] = (),
    secret: bool = False,
    testing_variable: str | None = None,
) -> Any:
    """A dataclass field declaring the setting read from ``variable``.

    ``shown`` is the default as the README states it (needed when the default is a function);
    ``required_in`` lists the environments that refuse to start without it; a ``secret`` is
    never printed (not in ``repr``, not in errors); ``testing_variable`` is read instead of
    ``variable`` in the testing environment.
    """
    spec = Setting(
        variable=variable,
        description=description,
        parse=parse,
        default=default,
        shown=shown if shown is not None else shown_value(default),
        required_in=required_in,
        secret=secret,
        testing_variable=testing_variable,
    )
    return field(metadata={SPEC: spec}, repr=not secret)


def shown_value(value: object) -> str:
    """A plain default as the README shows it."""
    if callable(value):
        raise TypeError("a default computed by a function needs shown=...")
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def text(raw: str) -> str:
    """Any non-blank text."""
    return raw


def flag(raw: str) -> bool:
    """true/false, 1/0, yes/no, on/off (any case); anything else is an error."""
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false (also 1/0, yes/no, on/off)")


def whole(minimum: int | None = None, maximum: int | None = None) -> Parser:
    """A whole number within ``minimum`` and ``maximum`` (either may be open)."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(_range("must be a whole number", minimum, maximum)) from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ValueError(_range("must be a whole number", minimum, maximum))
        return value

    return parse


def number(minimum: float, maximum: float | None = None, *, above: bool = False) -> Parser:
    """A finite number from ``minimum`` (exclusive when ``above``) up to ``maximum``."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        low_ok = value > minimum if above else value >= minimum
        if not (math.isfinite(value) and low_ok and (maximum is None or value <= maximum)):
            lower = f"more than {minimum:g}" if above else f"at least {minimum:g}"
            upper = "" if maximum is None else f" and at most {maximum:g}"
            raise ValueError(f"must be a number {lower}{upper}")
        return value

    return parse


def _range(what: str, minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{what} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{what} of at least {minimum}"
    return what if maximum is None else f"{what} of at most {maximum}"


def choice(*options: str) -> Parser:
    """One of ``options``, exactly."""

    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return raw

    return parse


def path(raw: str) -> Path:
    """A file-system path (not checked for existence here)."""
    return Path(raw)


def sqlalchemy_url(raw: str) -> str:
    """A SQLAlchemy database URL."""
    try:
        make_url(raw)
    except ArgumentError:
        raise ValueError("is not a database URL") from None
    return raw


def web_url(raw: str) -> str:
    """An absolute http(s) URL, without a trailing slash."""
    scheme, _, rest = raw.partition("://")
    if scheme not in {"http", "https"} or not rest.strip("/"):
        raise ValueError("must be an absolute http:// or https:// URL")
    return raw.rstrip("/")


def rate_limit(raw: str) -> str:
    """A rate limit such as ``10 per minute`` or ``10 per 15 minutes`` (``;`` separates more)."""
    try:
        parse_many(raw)
    except ValueError:
        raise ValueError("must be a rate limit such as '10 per minute'") from None
    return raw


#: An address or network of ``networks``: ``10.0.0.0/8``, ``::1`` (one host).
Network = IPv4Network | IPv6Network


def networks(raw: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks (``127.0.0.0/8,::1``); ``none`` for no network."""
    if raw.lower() == "none":
        return ()
    found = []
    for item in raw.split(","):
        try:
            found.append(ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"must list addresses or networks such as 10.0.0.0/8 or ::1 (or none), "
                f"got {item.strip()!r} among them"
            ) from None
    return tuple(found)


def long_secret(raw: str) -> str:
    """A secret of at least 16 characters (a token nobody guesses)."""
    if len(raw) < 16:
        raise ValueError("must be at least 16 characters long")
    return raw
