"""Campaign templates: which profile fields they use, validation against a purpose, rendering.

Templates are Jinja2 rendered in :class:`~app.campaigns.sandbox.BoundedSandbox` with
:class:`~jinja2.StrictUndefined`: a template that uses a field the caller did not supply fails
with :class:`TemplateFieldMissing` instead of rendering a silent blank (DESIGN.md rule 6). A
message renders within :data:`RENDER_SECONDS` and each part within the characters its channel
allows (:data:`OUTPUT_LIMITS`); anything a template cannot do is a :class:`TemplateError`
naming the part, never a crash and never a value of the customer's.

Names in :data:`CONTEXT_NAMES` are non-personal context supplied by the sender (the
unsubscribe link, the "why you get this" line, the offer); every other undeclared name in a
template is a profile field and must be allowed for the campaign's purpose.

A profile field is *required* unless every use of it declares a fallback with the ``default``
filter (``{{ first_name|default('there') }}``), as merge tags with a default value do in
common e-mail editors: a required field must be shared by the customer for the purpose, or
the message is not sent; a field with a fallback is supplied only when the customer shares it
for the purpose, and otherwise the fallback is rendered (:func:`field_usage`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Protocol

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateAssertionError

from app.campaigns.limits import LimitExceeded, budget
from app.campaigns.placeholders import placeholder_values
from app.campaigns.sandbox import BoundedSandbox
from app.errors import InvalidInput
from app.policy.document import PROFILE_FIELDS

#: Non-personal names the sender supplies in ``context``; never counted as profile fields.
CONTEXT_NAMES: frozenset[str] = frozenset(
    {
        "unsubscribe_url",
        "preferences_url",
        "reason_line",
        "offer",
        "campaign_name",
        "brand",
        "purpose_label",
        "privacy_url",
    }
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


class TemplateLike(Protocol):
    """The parts of a :class:`~app.campaigns.models.CampaignTemplate` that rendering needs."""

    # Read-only: frozen specs, stored templates and their views all qualify.
    @property
    def subject(self) -> str:
        """The subject line (e-mail)."""

    @property
    def body_text(self) -> str:
        """The plain-text body."""

    @property
    def body_html(self) -> str | None:
        """The HTML body, if any."""


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A rendered message, ready for a channel; never stored, never logged."""

    subject: str
    text: str
    html: str | None


class TemplateError(InvalidInput):
    """A template cannot be parsed or rendered; the message names no personal data."""


class TemplateFieldMissing(TemplateError):
    """A template uses a name that was not supplied: the message is not sent (never blank)."""


@cache
def _environment(autoescape: bool) -> BoundedSandbox:
    return BoundedSandbox(
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=512)
def _compiled(source: str, autoescape: bool) -> Template:
    """``source`` compiled once (the worker renders the same few templates many times)."""
    return _environment(autoescape).compile_template(source)


def _parts(template: TemplateLike) -> list[tuple[str, str, bool]]:
    """(part name, source, autoescape) for each non-empty part of ``template``."""
    parts = [("subject", template.subject or "", False), ("text", template.body_text or "", False)]
    if template.body_html:
        parts.append(("html", template.body_html, True))
    return parts


def _undeclared(source: str, part: str, autoescape: bool) -> set[str]:
    """The names ``source`` uses without defining them (analysing it needs its filters)."""
    try:
        return meta.find_undeclared_variables(_environment(autoescape).parse(source))
    except TemplateSyntaxError as exc:  # an unknown filter is found by the analysis
        raise _failure(part, exc) from None


def template_names(template: TemplateLike) -> frozenset[str]:
    """Every undeclared name used by the subject, text and HTML of ``template``."""
    names: set[str] = set()
    for part, source, autoescape in _parts(template):
        names |= _undeclared(source, part, autoescape)
    return frozenset(names)


def template_fields(template: TemplateLike) -> frozenset[str]:
    """The profile fields ``template`` uses: its undeclared names minus :data:`CONTEXT_NAMES`.

    Raises :class:`TemplateError` when a part does not parse.
    """
    return template_names(template) - CONTEXT_NAMES


#: The filter that declares a fallback for a missing value, under both of its names.
FALLBACK_FILTERS = frozenset({"default", "d"})


@dataclass(frozen=True, slots=True)
class FieldUsage:
    """The profile fields a template uses: ``required`` ones, and ones with a ``fallback``."""

    required: frozenset[str] = frozenset()
    fallback: frozenset[str] = frozenset()

    @property
    def all(self) -> frozenset[str]:
        """Every profile field used."""
        return self.required | self.fallback

    def __or__(self, other: FieldUsage) -> FieldUsage:
        """Both usages together: a field required by either is required."""
        required = self.required | other.required
        return FieldUsage(required, (self.fallback | other.fallback) - required)


def _fallback_names(ast: nodes.Template) -> tuple[set[str], set[str]]:
    """(names used with a fallback somewhere, names used without one somewhere) in ``ast``."""
    guarded = {
        id(used.node)
        for used in ast.find_all(nodes.Filter)
        if used.name in FALLBACK_FILTERS and isinstance(used.node, nodes.Name)
    }
    with_fallback: set[str] = set()
    without: set[str] = set()
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load":
            (with_fallback if id(name) in guarded else without).add(name.name)
    return with_fallback, without


def field_usage(template: TemplateLike) -> FieldUsage:
    """Which profile fields ``template`` requires and which it uses only with a fallback.

    A field is used with a fallback when *every* use of it, in every part, is the value of a
    ``default`` filter; one bare use makes it required. Raises :class:`TemplateError` when a
    part does not parse.
    """
    fields = template_fields(template)
    unguarded: set[str] = set()
    for part, source, autoescape in _parts(template):
        try:
            _, without = _fallback_names(_environment(autoescape).parse(source))
        except TemplateSyntaxError as exc:
            raise _failure(part, exc) from None
        unguarded |= without
    required = frozenset(fields & unguarded)
    return FieldUsage(required, fields - required)


def validate_template(purpose, template: TemplateLike) -> list[str]:
    """Problems that stop ``template`` from being used for ``purpose``; empty when fine.

    ``purpose`` is a policy :class:`~app.policy.document.Purpose` (its ``fields`` are the profile
    fields it allows). Each problem names one template field: unknown names and profile
    fields the purpose does not allow.
    """
    try:
        fields = template_fields(template)
    except TemplateError as exc:
        return [str(exc)]
    allowed = frozenset(purpose.fields)
    problems = []
    for name in sorted(fields):
        if name not in PROFILE_FIELDS:
            problems.append(
                f"Template field '{name}' is not a known profile field or context name."
            )
        elif name not in allowed:
            problems.append(f"Template field '{name}' is not allowed for purpose '{purpose.id}'.")
    return problems


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
    if isinstance(exc, TemplateAssertionError):
        return TemplateError(f"Template {part}, line {exc.lineno}: {exc.message}")
    if isinstance(exc, TemplateSyntaxError):
        return TemplateError(
            f"Template {part} has a syntax error on line {exc.lineno}: {exc.message}"
        )
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
        for part, source, esc in _parts(template)
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
