"""What the web fuzz tests share: form discovery, boundary values and input strategies.

The fuzz walks ``app.url_map`` (so a new route is fuzzed without editing anything), reads the
forms of every page a role can see to learn each route's fields, their kinds (``<input
type=…>``) and the values offered, and builds requests from them: boundary values per kind,
nasty text, numbers beyond 64 bits, and JSON bodies of every type.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

from flask import Flask
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Rule

from app.web.access import PUBLIC, rule_for

#: Endpoints left out: they end the session, or start a background thread (tested elsewhere).
LEFT_OUT = {"auth.logout", "auth.logout_everywhere", "compliance.verify"}
#: Query parameters the application reads, by kind, besides the fields of its GET forms.
QUERY_PARAMS = {
    "before": "number",
    "after": "number",
    "since": "date",
    "until": "date",
    "email": "email",
    **dict.fromkeys(
        (
            "format",
            "panel",
            "table",
            "next",
            "ref",
            "purpose",
            "channel",
            "action",
            "source",
            "status",
            "kind",
            "overdue",
            "actor",
            "country",
        ),
        "text",
    ),
}
#: Query parameters every GET route is swept with (the others are swept where a form has them).
SWEPT_QUERY = ("before", "after", "format")
_NUMBERS = (
    "0",
    "-1",
    "1",
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 5000,
    "²",
    "١٢",
    "1.5",
    "1e309",
    "NaN",
    " 1",
    "",
)
#: Values at the edges of each kind of field: what a parser is most likely to trip on.
BOUNDARIES = {
    "number": _NUMBERS,
    "date": ("9999-12-31", "0001-01-01", "2026-02-30", "2026-13-01", "1-1-1", "²", ""),
    "datetime-local": (
        "9999-12-31T23:59",
        "0001-01-01T00:00",
        "2026-02-30T10:00",
        "2026-12-05T25:00",
        "²",
        "",
    ),
    "time": ("24:00", "23:59", "00:00", "1٣:00", "9:5", "12:00:00", "²", ""),
    "choice": ("", "x", "²", str(2**64)),
    "password": ("", "short", "x" * 70_000, "\x00", "²"),
    "email": ("a@b", "x" * 300 + "@example.com", "@", "ann@example.com\x00", ""),
    "text": (
        "",
        "x" * 70_000,
        "\x00",
        "²",
        str(2**64),
        "9999-12-31",
        "{{ 1/0 }}",
        "{{ 'x' * 100000000 }}",
    ),
}
#: A valid value per kind, for fields a page leaves empty, so that sweeping one field reaches
#: past the validation of the others (the e-mail is an existing customer's: no new accounts;
#: the password is nobody's: nothing is changed or deleted by accident).
GOOD = {
    "email": "fuzzed.customer@example.org",
    "password": "not anybody's password",
    "number": "1",
    "date": "2030-01-01",
    "time": "09:00",
    "datetime-local": "2030-01-01T09:00",
}
#: At most this many combinations of path samples are swept per route.
PATHS_PER_ROUTE = 12
#: JSON values of a type no form field holds.
WRONG_TYPES = (None, True, 7, 2**70, 1.5, ["a", "b"], {"a": 1})


@dataclass(frozen=True)
class Field:
    """A form field or query parameter: its name, kind and the values pages offered for it."""

    name: str
    kind: str
    offered: tuple[str, ...]
    on_page: bool = True


@dataclass(repr=False)
class Target:
    """One route and method to fuzz, with the fields its forms (or query string) have."""

    rule: Rule
    method: str
    fields: tuple[Field, ...]

    def __repr__(self) -> str:
        """Short, for Hypothesis's reports."""
        return f"Target({self.method} {self.rule.rule})"


class FormParser(HTMLParser):
    """Every form of a page: its action, method, and each field's kind and the values it
    offers, the one it shows first (selected option, textarea text, input value)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a form, or add a named field (with its kind and value) to the open one."""
        named = {key: value or "" for key, value in attrs}
        if tag == "form":
            method = (named.get("method") or "get").upper()
            self.forms.append({"action": named.get("action", ""), "method": method, "fields": {}})
            return
        if not self.forms:
            return
        if tag == "option" and self._select:
            self._offer(self._select, named.get("value", ""), first="selected" in named)
        elif tag in ("input", "select", "textarea", "button") and named.get("name"):
            name = named["name"]
            self._select = name if tag == "select" else None
            self._textarea = name if tag == "textarea" else None
            if name != "csrf_token":
                kind = named.get("type", "text") if tag == "input" else tag
                self.forms[-1]["fields"].setdefault(name, [kind, []])
                if tag != "select":
                    self._offer(name, named.get("value", ""), first=False)

    def handle_data(self, data: str) -> None:
        """The text of a textarea is its value."""
        if self._textarea and self.forms:
            self._offer(self._textarea, data.removeprefix("\r\n").removeprefix("\n"), first=True)

    def handle_endtag(self, tag: str) -> None:
        """Close a select or textarea."""
        if tag in ("select", "textarea"):
            self._select = self._textarea = None

    def _offer(self, name: str, value: str, first: bool) -> None:
        values = self.forms[-1]["fields"][name][1]
        if value in values:
            values.remove(value)
        values.insert(0 if first else len(values), value)


def _kind(kind: str, offered: list[str]) -> str:
    if kind in BOUNDARIES:
        return kind
    if kind in ("checkbox", "radio", "submit", "button", "select"):
        return "choice"
    if kind == "hidden" and offered and all(value.isdecimal() for value in offered if value):
        return "number"
    return "text"


def routes_for(app: Flask, role: str | None) -> list[tuple[Rule, str]]:
    """Every (rule, method) of the role's own area; public routes for anonymous visitors."""
    found = []
    for rule in app.url_map.iter_rules():
        allowed = rule_for(app, rule.endpoint)
        if rule.endpoint in LEFT_OUT:
            continue
        if allowed == PUBLIC and role is not None:
            continue
        if allowed != PUBLIC and (role is None or role not in allowed):
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((rule, method))
    return found


def _is_id(rule: Rule, name: str) -> bool:
    return isinstance(rule._converters[name], IntegerConverter)


def sample_url(rule: Rule, samples: dict[str, list[str]]) -> str:
    """``rule`` with each argument filled with the first real sample for it."""
    return sample_paths(rule, samples)[0]


def fill(rule: Rule, values: dict[str, str]) -> str:
    """The path of ``rule`` with ``values`` quoted into its arguments."""
    path = rule.rule
    for name in rule.arguments:
        value = quote(str(values[name]), safe="")
        path = re.sub(r"<(?:[^<>]+:)?" + re.escape(name) + ">", lambda _m, v=value: v, path)
    return path


def discover_targets(app: Flask, client, role: str | None, samples) -> list[Target]:
    """Fuzz targets of ``role``, with the fields found in the forms of every page it sees."""
    adapter = app.url_map.bind("localhost")
    found: dict[tuple[str, str], dict[str, list]] = defaultdict(dict)
    routes = routes_for(app, role)
    for rule, method in routes:
        if method != "GET" or rule.endpoint == "static":
            continue
        url = sample_url(rule, samples)
        parser = FormParser()
        parser.feed(client.get(url).get_data(as_text=True))
        for form in parser.forms:
            try:
                endpoint, _ = adapter.match(urlsplit(form["action"] or url).path, form["method"])
            except HTTPException:
                continue
            for name, (kind, offered) in form["fields"].items():
                known = found[(endpoint, form["method"])].setdefault(name, [kind, []])
                known[1] += [value for value in offered if value not in known[1]]
    targets = []
    for rule, method in routes:
        fields = {
            name: Field(name, _kind(kind, offered), tuple(offered))
            for name, (kind, offered) in found[(rule.endpoint, method)].items()
        }
        if method == "GET":
            for name, kind in QUERY_PARAMS.items():
                fields.setdefault(name, Field(name, kind, (), on_page=False))
        targets.append(Target(rule, method, tuple(sorted(fields.values(), key=str))))
    return targets


def baseline(target: Target) -> dict[str, str]:
    """What the form of ``target`` would send: the value shown first, else a valid one."""
    values = {}
    for field in target.fields:
        shown = field.offered[0] if field.offered else ""
        if shown or field.kind in GOOD:
            values[field.name] = shown or GOOD[field.kind]
    return values


def sample_paths(rule: Rule, samples: dict[str, list[str]]) -> list[str]:
    """``rule`` filled with each combination of real samples (ids: the first one only)."""
    choices = []
    for name in rule.arguments:
        items = getattr(rule._converters[name], "items", None)
        found = sorted(items) if items else samples.get("int" if _is_id(rule, name) else name)
        found = found or ["sample"]
        choices.append(found[:1] if _is_id(rule, name) else found)
    combos = list(itertools.islice(itertools.product(*choices), PATHS_PER_ROUTE))
    return [fill(rule, dict(zip(rule.arguments, combo, strict=True))) for combo in combos]


def sweep(target: Target, samples: dict[str, list[str]]) -> list[dict]:
    """Requests changing one field at a time to each boundary value of its kind (on each
    combination of path samples), plus JSON bodies of wrong types for forms."""
    good = baseline(target)
    body = "query_string" if target.method == "GET" else "data"
    requests = []
    for path in sample_paths(target.rule, samples):
        for field in target.fields:
            if not (field.on_page or field.name in SWEPT_QUERY):
                continue  # the random pass sends it; sweeping it on every page costs too much
            for value in BOUNDARIES[field.kind]:
                values = {**good, field.name: value}
                requests.append(
                    {"method": target.method, "path": path, "query_string": {}, body: values}
                )
    path = sample_url(target.rule, samples)
    if target.method == "POST":
        for wrong in WRONG_TYPES:
            requests.append(
                {
                    "method": "POST",
                    "path": path,
                    "query_string": {},
                    "json": {field.name: wrong for field in target.fields},
                }
            )
    return requests


def texts() -> st.SearchStrategy[str]:
    """Any text a browser could send (no lone surrogates), nasty values and numbers."""
    return st.one_of(
        st.sampled_from(sorted({value for values in BOUNDARIES.values() for value in values})),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
    )


def field_value(field: Field) -> st.SearchStrategy[str]:
    """A value for ``field``: one the page offered, a boundary of its kind, or anything."""
    offered = [st.sampled_from(field.offered)] if field.offered else []
    return st.one_of(*offered, st.sampled_from(BOUNDARIES[field.kind]), texts())


def path_value(rule: Rule, name: str, samples: dict[str, list[str]]) -> st.SearchStrategy[str]:
    """A value for the URL argument ``name``: a real identifier or a fuzzed one."""
    if _is_id(rule, name):
        real, fuzzed = samples["int"], st.integers(min_value=0, max_value=2**90).map(str)
    else:
        items = getattr(rule._converters[name], "items", None)
        real = sorted(items) if items else samples.get(name) or ["x"]
        fuzzed = texts().filter(lambda text: text not in ("", ".", ".."))
    return st.one_of(st.sampled_from(real), fuzzed)


@st.composite
def requests_for(draw, target: Target, samples: dict[str, list[str]]) -> dict:
    """Keyword arguments of one test-client request to ``target``."""
    rule = target.rule
    path = fill(rule, {name: draw(path_value(rule, name, samples)) for name in rule.arguments})
    values = {}
    for field in target.fields:
        if draw(st.booleans()):
            values[field.name] = draw(field_value(field))
    request: dict = {"method": target.method, "path": path, "query_string": {}}
    if target.method == "GET":
        request["query_string"] = values
    elif draw(st.integers(0, 3)) == 0:
        request["json"] = {name: draw(st.sampled_from(WRONG_TYPES)) for name in values}
    else:
        request["data"] = values
    return request


def describe(request: dict) -> str:
    """A short, printable account of a request for failure messages."""
    body = request.get("json", request.get("data"))
    shown = json.dumps(body, default=str)[:300] if body is not None else ""
    query = json.dumps(request["query_string"])[:300]
    return f"{request['method']} {request['path'][:200]} {query} {shown}"
