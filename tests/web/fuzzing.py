"""What the web fuzz sends: boundary values per kind of field, and random requests.

Targets come from the application's URL map and forms (:mod:`tests.web.fuzz_forms`), so a new
route or field is fuzzed without editing anything. Requests carry boundary values per kind,
nasty text, numbers beyond 64 bits, and JSON bodies of every type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from hypothesis import strategies as st
from werkzeug.routing import Rule

from tests.web.fuzz_forms import (
    Field,
    Target,
    discover_targets,
    fill,
    is_id,
    refreshed,
    sample_paths,
)

#: Query parameters the application reads, by kind, besides the fields of its GET forms.
QUERY_PARAMS = {
    "before": "cursor",
    "after": "cursor",
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
    str(2**31 - 1),
    str(2**31),
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
    "cursor": ("0", "-1", "²", "١٢", str(2**31), str(2**63), "9" * 5000, ""),
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
    "button": ("",),
    "password": ("", "short", "x" * 70_000, "\x00", "²"),
    "email": ("a@b", "x" * 300 + "@example.com", "@", "ann@example.com\x00", ""),
    "text": (
        "",
        "x" * 70_000,
        "\x00",
        "²",
        "{{ 1/0 }}",
        "{{ 'x' * 100000000 }}",
        "[" * 5_000,
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
#: JSON values of a type no form field holds.
WRONG_TYPES = (None, True, 7, 2**70, 1.5, ["a", "b"], {"a": 1})


def kind_of(kind: str, offered: list[str]) -> str:
    """The kind of boundary values a field gets, from its HTML kind and offered values."""
    if kind in BOUNDARIES:
        return kind
    if kind in ("checkbox", "radio", "select"):
        return "choice"
    if kind in ("submit", "button"):
        return "button"
    if kind == "hidden" and offered and all(value.isdecimal() for value in offered if value):
        return "number"
    return "text"


def targets_of(app, client, role: str | None, samples: dict[str, list[str]]) -> list[Target]:
    """The fuzz targets of ``role`` (see :mod:`tests.web.fuzz_forms`)."""
    return discover_targets(app, client, role, samples, kind_of, QUERY_PARAMS)


def fresh(app, client, target: Target) -> Target:
    """``target`` re-read from its page (after a request changed what the page shows)."""
    return refreshed(app, client, target, kind_of)


def baselines(target: Target) -> list[dict[str, str]]:
    """What the form of ``target`` would send: the value shown first (else a valid one), once
    per submit button (the editor previews with one and saves with the other)."""
    values = {}
    for field in target.fields:
        shown = field.offered[0] if field.offered else ""
        if field.kind != "button" and (shown or field.kind in GOOD):
            values[field.name] = shown or GOOD[field.kind]
    buttons = [field for field in target.fields if field.kind == "button"]
    return [{**values, b.name: b.offered[0] if b.offered else "1"} for b in buttons] or [values]


def sweep(target_now, samples: dict[str, list[str]]) -> Iterator[dict]:
    """Requests changing one field at a time to each boundary value of its kind, on each
    combination of path samples and with each submit button, then JSON bodies of wrong types.

    ``target_now()`` gives the target as its page shows it now, so that a request following
    one that saved the form sends the new version of it.
    """
    first = target_now()
    body = "query_string" if first.method == "GET" else "data"
    for path in sample_paths(first.rule, samples):
        for mode in range(len(baselines(first))):
            for field in first.fields:
                if field.kind == "button" or not (field.on_page or field.name in SWEPT_QUERY):
                    continue  # the random pass sends the rest; sweeping it costs too much
                for value in BOUNDARIES[field.kind]:
                    values = {**baselines(target_now())[mode], field.name: value}
                    yield {"method": first.method, "path": path, "query_string": {}, body: values}
    if first.method == "POST":
        path = sample_paths(first.rule, samples)[0]
        for wrong in WRONG_TYPES:
            json_body = {field.name: wrong for field in first.fields}
            yield {"method": "POST", "path": path, "query_string": {}, "json": json_body}


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
    if is_id(rule, name):
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
