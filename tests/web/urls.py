"""Turning the URL map into concrete URLs for tests that walk every route."""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask import Flask
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

#: Sample values for URL arguments, by converter; they need not exist (404 is an answer).
SAMPLES = {
    "integer": "1",
    "path": "sample/path",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
DEFAULT_SAMPLE = "sample"


def concrete_url(rule: Rule, **overrides: object) -> str:
    """``rule`` with every argument replaced by a sample value of the right shape (or by the
    value given for it in ``overrides``)."""
    url = rule.rule
    for name, converter in rule._converters.items():
        kind = "integer" if isinstance(converter, IntegerConverter) else ""
        kind = kind or type(converter).__name__.removesuffix("Converter").lower()
        sample = SAMPLES.get(kind, DEFAULT_SAMPLE)
        if isinstance(converter, AnyConverter):
            sample = sorted(converter.items)[0]
        sample = str(overrides.get(name, sample))
        url = re.sub(r"<(?:[^<>]+:)?" + re.escape(name) + ">", lambda _m, v=sample: v, url)
    return url


def routes_of(app: Flask, method: str) -> Iterator[tuple[Rule, str]]:
    """Every rule accepting ``method``, with a concrete URL for it."""
    for rule in app.url_map.iter_rules():
        if method in (rule.methods or set()):
            yield rule, concrete_url(rule)
