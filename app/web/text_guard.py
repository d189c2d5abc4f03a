"""Refusing text no field may hold, before any view reads it.

A NUL character (``\\x00``) is refused wherever it appears — path, query string, form or JSON
body: no browser form sends one, and PostgreSQL cannot store or compare text holding one (the
driver's error would be a 500). A JSON body nested too deeply to be read is refused too.
Both answer 400 with the reason, on every engine alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request
from werkzeug.datastructures import MultiDict

from app.web.errors import bad_request

NUL = "\x00"


def _holds_nul(value: object) -> bool:
    """True when ``value`` (text, or JSON data of any shape) holds a NUL character."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _fields_hold_nul(fields: MultiDict) -> bool:
    return any(NUL in key or _holds_nul(values) for key, values in fields.lists())


def _json_body() -> Iterable[object]:
    if not request.is_json:
        return []
    try:
        return [request.get_json(silent=True)]
    except RecursionError:
        bad_request("The JSON body is nested too deeply to be read.")


def refuse_nul_characters() -> None:
    """``before_request`` hook: a 400 when the request holds a NUL character anywhere."""
    if (
        NUL in request.path
        or _fields_hold_nul(request.args)
        or _fields_hold_nul(request.form)
        or any(_holds_nul(data) for data in _json_body())
    ):
        bad_request("The request holds a NUL character, which no field may contain.")


def init_app(app: Flask) -> None:
    """Check every request of ``app`` for text no field may hold."""
    app.before_request(refuse_nul_characters)
