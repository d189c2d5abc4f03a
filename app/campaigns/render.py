"""Rendering campaign templates.

Templates are Jinja2 rendered in :class:`~app.campaigns.sandbox.BoundedSandbox` with
:class:`~jinja2.StrictUndefined`: a template that uses a field the caller did not supply fails
with :class:`TemplateFieldMissing` instead of rendering a silent blank (DESIGN.md rule 6). A
message renders within :data:`RENDER_SECONDS` and each part within the characters its channel
allows (:data:`OUTPUT_LIMITS`); anything a template cannot do is a :class:`TemplateError`
naming the part, never a crash and never a value of the customer's. Which profile fields a
template uses, required or with a fallback, is :mod:`app.campaigns.template_fields`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from app.campaigns.limits import LimitExceeded, budget
from app.campaigns.placeholders import placeholder_values
from app.campaigns.template_fields import (
    CONTEXT_NAMES,
    TemplateError,
    TemplateLike,
    environment,
    field_usage,
    syntax_failure,
    template_names,
    template_parts,
)

#: The time one message (all its parts) may take to render.
RENDER_SECONDS = 1.0
#: The most characters each rendered part may have, by channel.
OUTPUT_LIMITS: Mapping[str, Mapping[str, int]] = {
    "email": {"subject": 1_000, "text": 100_000, "html": 100_000},
    "sms": {"subject": 1_000, "text": 1_600, "html": 1_600},
}
#: How much more than its output a template may write into variables, macros and blocks.
WRITE_FACTOR = 4
#: What a failure says about the template, by exception (never the exception's own text,
#: which may quote a customer's value).
FAILURES = {
    ZeroDivisionError: "divides by zero",
    RecursionError: "nests macros or loops too deeply",
    OverflowError: "computes a number too large",
    MemoryError: "builds a value too large",
    TypeError: "applies an operation to a value of the wrong kind",
    ValueError: "converts a value that cannot be converted",
    LookupError: "looks up an item that does not exist",
}


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A rendered message, ready for a channel; never stored, never logged."""

    subject: str
    text: str
    html: str | None


class TemplateFieldMissing(TemplateError):
    """A template uses a name that was not supplied: the message is not sent (never blank)."""


@lru_cache(maxsize=512)
def _compiled(source: str, autoescape: bool) -> Template:
    """``source`` compiled once (the worker renders the same few templates many times)."""
    return environment(autoescape).compile_template(source)


def _render_part(
    part: str,
    source: str,
    autoescape: bool,
    values: Mapping[str, object],
    limit: int,
    deadline: float,
) -> str:
    """Render one part within ``limit`` characters and the message's ``deadline``."""
    try:
        template = _compiled(source, autoescape)
        with budget(deadline, WRITE_FACTOR * limit):
            text = template.render(values)
    except Exception as exc:  # every failure of a template becomes a TemplateError
        raise _failure(part, exc) from None
    if len(text) > limit:
        raise TemplateError(f"Template {part} is longer than {limit:,} characters once rendered.")
    return text


def _failure(part: str, exc: Exception) -> TemplateError:
    """The :class:`TemplateError` saying why ``part`` could not be rendered."""
    if isinstance(exc, UndefinedError):
        return TemplateFieldMissing(
            f"Template {part} uses a value that was not supplied ({_name_of(exc)})."
        )
    if isinstance(exc, LimitExceeded):
        return TemplateError(f"Template {part} {exc.message}.")
    if isinstance(exc, SecurityError):
        return TemplateError(f"Template {part} tried an operation the sandbox forbids.")
    if isinstance(exc, TemplateSyntaxError):
        return syntax_failure(part, exc)
    reason = next((text for kind, text in FAILURES.items() if isinstance(exc, kind)), None)
    return TemplateError(f"Template {part} cannot be rendered: it {reason or 'fails'}.")


def _name_of(exc: UndefinedError) -> str:
    """The missing name from Jinja2's message (``'x' is undefined``), never a value."""
    message = str(exc.message or "")
    if message.startswith("'") and "' is undefined" in message:
        return message[1 : message.index("' is undefined")]
    return "a name"


def render_message(
    template: TemplateLike,
    fields: Mapping[str, str],
    context: Mapping[str, object],
    channel: str = "email",
) -> RenderedMessage:
    """Render ``template`` with the customer's permitted ``fields`` and sender ``context``.

    ``fields`` must hold only profile fields (and ``context`` only non-personal names); a
    name used by the template but supplied by neither raises :class:`TemplateFieldMissing`.
    HTML is autoescaped; subject and text are not. Each part stays within the characters
    ``channel`` allows, and the whole message renders within :data:`RENDER_SECONDS`.
    """
    _check_names(fields.keys(), context.keys())
    values = {**context, **fields}
    limits = OUTPUT_LIMITS.get(channel, OUTPUT_LIMITS["email"])
    deadline = time.monotonic() + RENDER_SECONDS
    rendered = {
        part: _render_part(part, source, esc, values, limits[part], deadline)
        for part, source, esc in template_parts(template)
    }
    return RenderedMessage(
        subject=" ".join(rendered["subject"].split()),
        text=rendered["text"],
        html=rendered.get("html"),
    )


def _check_names(field_names: Iterable[str], context_names: Iterable[str]) -> None:
    clash = set(field_names) & set(context_names)
    if clash:
        raise TemplateError(
            f"Names supplied both as field and context: {', '.join(sorted(clash))}."
        )


def render_problems(template: TemplateLike, channel: str = "email") -> list[str]:
    """Why ``template`` cannot be rendered for ``channel``; empty when it renders.

    It is rendered with placeholder values for every name it uses (never a customer's data),
    so a syntax error, a filter that does not exist, ``{{ 1/0 }}`` or a limit is found when
    the template is saved rather than when it is sent; fields with a fallback are rendered
    both ways (supplied, and left out so the fallback shows). Names that are not profile fields are
    reported by :func:`validate_template`, not here.
    """
    try:
        fields, context = placeholder_values(template_names(template), CONTEXT_NAMES)
        render_message(template, fields, context, channel)
        fallback = field_usage(template).fallback
        if fallback:  # as a customer who shares none of them sees it
            shown = {name: value for name, value in fields.items() if name not in fallback}
            render_message(template, shown, context, channel)
    except TemplateError as exc:
        return [str(exc)]
    return []
