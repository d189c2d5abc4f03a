"""The segment builder: segment conditions as plain form inputs, JSON still accepted.

Each registered condition declares how it is asked for (``Condition.form``); this module
turns the submitted inputs into the segment document and a stored segment back into input
values. Conditions the builder cannot show (``json``) stay in the JSON box. A condition given
both in the inputs and in the JSON is refused with a message naming it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.datastructures import MultiDict

from app.campaigns.segments import Condition, registered_conditions, segment_json
from app.errors import InvalidInput

_SPLIT = re.compile(r"[,\n]")


def builder_conditions() -> list[Condition]:
    """The conditions the builder shows, in the order of their labels."""
    shown = [c for c in registered_conditions().values() if c.form != "json"]
    return sorted(shown, key=lambda c: (c.label or c.name).casefold())


def input_name(condition: Condition, part: str = "") -> str:
    """The form input name of ``condition`` (and of one ``part`` of a range)."""
    return f"seg-{condition.name}" + (f"-{part}" if part else "")


def _number(condition: Condition, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(f"{condition.label or condition.name}: enter a whole number.") from None


def _value(condition: Condition, form: MultiDict[str, str]) -> Any:
    """The JSON value the inputs give ``condition``, or ``None`` when left empty."""
    if condition.form == "range":
        bounds = {
            part: _number(condition, text)
            for part in ("at_least", "at_most")
            if (text := (form.get(input_name(condition, part)) or "").strip())
        }
        return bounds or None
    if condition.form == "choices":
        chosen = [v for v in form.getlist(input_name(condition)) if v]
        return chosen or None
    text = (form.get(input_name(condition)) or "").strip()
    if not text:
        return None
    if condition.form == "list":
        return [item.strip() for item in _SPLIT.split(text) if item.strip()] or None
    if condition.form == "hour":
        return {"local_hour": _number(condition, text)}
    return _number(condition, text)


def segment_from_form(form: MultiDict[str, str], json_text: str) -> dict[str, Any]:
    """The segment document of the builder's inputs and the JSON box together."""
    document: dict[str, Any] = json.loads(segment_json(json_text.strip() or {}))
    document.pop("version", None)
    for condition in builder_conditions():
        value = _value(condition, form)
        if value is None:
            continue
        if condition.name in document:
            label = condition.label or condition.name
            raise InvalidInput(f"{label} is set both in the form and in the segment JSON.")
        document[condition.name] = value
    return document


def builder_values(segment: str | None) -> tuple[dict[str, Any], str]:
    """(input values, JSON text of the conditions the builder cannot show) of a stored
    segment."""
    data = json.loads(segment_json(segment or {}))
    data.pop("version", None)
    values: dict[str, Any] = {}
    for condition in builder_conditions():
        if condition.name not in data:
            continue
        value = data.pop(condition.name)
        if condition.form == "range":
            for part in ("at_least", "at_most"):
                if part in value:
                    values[input_name(condition, part)] = str(value[part])
        elif condition.form == "choices":
            values[input_name(condition)] = list(value)
        elif condition.form == "list":
            values[input_name(condition)] = ", ".join(value)
        elif condition.form == "hour":
            values[input_name(condition)] = str(value["local_hour"])
        else:
            values[input_name(condition)] = str(value)
    rest = json.dumps(data, indent=2, ensure_ascii=False) if data else ""
    return values, rest


def submitted_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """The builder's inputs as submitted (to show them again with an error)."""
    values: dict[str, Any] = {}
    for condition in builder_conditions():
        if condition.form == "choices":
            values[input_name(condition)] = form.getlist(input_name(condition))
        elif condition.form == "range":
            for part in ("at_least", "at_most"):
                values[input_name(condition, part)] = form.get(input_name(condition, part), "")
        else:
            values[input_name(condition)] = form.get(input_name(condition), "")
    return values
