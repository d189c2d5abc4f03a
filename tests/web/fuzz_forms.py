"""Learning the fuzz targets from the application itself: its URL map and its own forms.

Every page a role can open is read for its forms; each form's fields are recorded for the
route it posts to, with their kind (``<input type=…>``, select, textarea, button) and the
values the page offered, the one it shows first leading (selected option, textarea text).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Rule

from app.web.access import PUBLIC, rule_for

#: Endpoints left out: they end the session, or start a background thread (tested elsewhere).
LEFT_OUT = {"auth.logout", "auth.logout_everywhere", "compliance.verify"}
#: At most this many combinations of path samples are swept per route.
PATHS_PER_ROUTE = 12


@dataclass(frozen=True)
class Field:
    """A form field or query parameter: its name, kind and the values pages offered for it."""

    name: str
    kind: str
    offered: tuple[str, ...]
    on_page: bool = True


@dataclass(repr=False)
class Target:
    """One route and method to fuzz, the page its form is on, and the fields it has."""

    rule: Rule
    method: str
    fields: tuple[Field, ...]
    page: str | None = None

    def __repr__(self) -> str:
        """Short, for Hypothesis's reports."""
        return f"Target({self.method} {self.rule.rule})"


class FormParser(HTMLParser):
    """Every form of a page: its action, method, and each field's kind and offered values."""

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


def is_id(rule: Rule, name: str) -> bool:
    """True when the URL argument ``name`` of ``rule`` is an id."""
    return isinstance(rule._converters[name], IntegerConverter)


def fill(rule: Rule, values: dict[str, str]) -> str:
    """The path of ``rule`` with ``values`` quoted into its arguments."""
    path = rule.rule
    for name in rule.arguments:
        value = quote(str(values[name]), safe="")
        path = re.sub(r"<(?:[^<>]+:)?" + re.escape(name) + ">", lambda _m, v=value: v, path)
    return path


def sample_paths(rule: Rule, samples: dict[str, list[str]]) -> list[str]:
    """``rule`` filled with each combination of real samples (ids: the first one only)."""
    choices = []
    for name in rule.arguments:
        items = getattr(rule._converters[name], "items", None)
        found = sorted(items) if items else samples.get("int" if is_id(rule, name) else name)
        found = found or ["sample"]
        choices.append(found[:1] if is_id(rule, name) else found)
    combos = itertools.islice(itertools.product(*choices), PATHS_PER_ROUTE)
    return [fill(rule, dict(zip(rule.arguments, combo, strict=True))) for combo in combos]


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


def forms_on(app: Flask, client, url: str) -> dict[tuple[str, str], dict[str, list]]:
    """The fields of each form on the page at ``url``, by (endpoint, method) it goes to."""
    adapter = app.url_map.bind("localhost")
    parser = FormParser()
    parser.feed(client.get(url).get_data(as_text=True))
    found: dict[tuple[str, str], dict[str, list]] = defaultdict(dict)
    for form in parser.forms:
        try:
            endpoint, _ = adapter.match(urlsplit(form["action"] or url).path, form["method"])
        except HTTPException:
            continue
        for name, (kind, offered) in form["fields"].items():
            known = found[(endpoint, form["method"])].setdefault(name, [kind, []])
            known[1] += [value for value in offered if value not in known[1]]
    return found


def discover_targets(app: Flask, client, role, samples, kind_of, query_params) -> list[Target]:
    """Fuzz targets of ``role``, with the fields found in the forms of every page it sees.

    ``kind_of(kind, offered)`` names the kind of a field; GET routes also get
    ``query_params`` (name: kind), the query parameters no form shows.
    """
    found: dict[tuple[str, str], dict[str, list]] = defaultdict(dict)
    pages: dict[tuple[str, str], str] = {}
    routes = routes_for(app, role)
    for rule, method in routes:
        if method == "GET" and rule.endpoint != "static":
            url = sample_paths(rule, samples)[0]
            for key, fields in forms_on(app, client, url).items():
                pages.setdefault(key, url)
                for name, (kind, offered) in fields.items():
                    known = found[key].setdefault(name, [kind, []])
                    known[1] += [value for value in offered if value not in known[1]]
    targets = []
    for rule, method in routes:
        key = (rule.endpoint, method)
        fields = {n: Field(n, kind_of(k, o), tuple(o)) for n, (k, o) in found[key].items()}
        if method == "GET":
            for name, kind in query_params.items():
                fields.setdefault(name, Field(name, kind, (), on_page=False))
        ordered = tuple(sorted(fields.values(), key=lambda field: field.name))
        targets.append(Target(rule, method, ordered, pages.get(key)))
    return targets


def refreshed(app: Flask, client, target: Target, kind_of) -> Target:
    """``target`` with the values its page offers now (a saved form shows a new version)."""
    if target.page is None:
        return target
    now = forms_on(app, client, target.page).get((target.rule.endpoint, target.method), {})
    fields = tuple(
        Field(f.name, f.kind, tuple(now[f.name][1]) if f.name in now else f.offered, f.on_page)
        for f in target.fields
    )
    return Target(target.rule, target.method, fields, target.page)
