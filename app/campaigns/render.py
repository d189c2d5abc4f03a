"""Campaign templates: which profile fields they use, validation against a purpose, rendering.

Templates are Jinja2 rendered in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`: a template that uses a field the caller did not supply fails
with :class:`TemplateFieldMissing` instead of rendering a silent blank (DESIGN.md rule 6).

Names in :data:`CONTEXT_NAMES` are non-personal context supplied by the sender (the
unsubscribe link, the "why you get this" line, the offer); every other undeclared name in a
template is a profile field and must be shared by the customer for the campaign's purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from app.errors import InvalidInput
from app.policy.model import PROFILE_FIELDS

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
def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _parts(template: TemplateLike) -> list[tuple[str, str, bool]]:
    """(part name, source, autoescape) for each non-empty part of ``template``."""
    parts = [("subject", template.subject or "", False), ("text", template.body_text or "", False)]
    if template.body_html:
        parts.append(("html", template.body_html, True))
    return parts


def _undeclared(source: str, part: str, autoescape: bool) -> set[str]:
    try:
        ast = _environment(autoescape).parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"Template {part} has a syntax error on line {exc.lineno}: {exc.message}"
        ) from None
    return meta.find_undeclared_variables(ast)


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


def validate_template(purpose, template: TemplateLike) -> list[str]:
    """Problems that stop ``template`` from being used for ``purpose``; empty when fine.

    ``purpose`` is a policy :class:`~app.policy.model.Purpose` (its ``fields`` are the profile
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


def _render_part(part: str, source: str, autoescape: bool, values: Mapping[str, object]) -> str:
    try:
        return _environment(autoescape).from_string(source).render(values)
    except UndefinedError as exc:
        raise TemplateFieldMissing(
            f"Template {part} uses a value that was not supplied ({_name_of(exc)})."
        ) from None
    except SecurityError:
        raise TemplateError(f"Template {part} tried an operation the sandbox forbids.") from None
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"Template {part} has a syntax error on line {exc.lineno}: {exc.message}"
        ) from None


def _name_of(exc: UndefinedError) -> str:
    """The missing name from Jinja2's message (``'x' is undefined``), never a value."""
    message = str(exc.message or "")
    if message.startswith("'") and "' is undefined" in message:
        return message[1 : message.index("' is undefined")]
    return "a name"


def render_message(
    template: TemplateLike, fields: Mapping[str, str], context: Mapping[str, object]
) -> RenderedMessage:
    """Render ``template`` with the customer's permitted ``fields`` and sender ``context``.

    ``fields`` must hold only profile fields (and ``context`` only non-personal names); a
    name used by the template but supplied by neither raises :class:`TemplateFieldMissing`.
    HTML is autoescaped; subject and text are not.
    """
    _check_names(fields.keys(), context.keys())
    values = {**context, **fields}
    rendered = {
        part: _render_part(part, source, esc, values) for part, source, esc in _parts(template)
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
