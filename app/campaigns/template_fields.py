"""Which profile fields campaign templates use, and whether a purpose allows them.

Every undeclared name of a template is a profile field, but the names in
:data:`CONTEXT_NAMES` (non-personal context supplied by the sender: the unsubscribe link, the
"why you get this" line, the offer). A profile field is *required* unless every use of it
declares a fallback with the ``default`` filter (``{{ first_name|default('there') }}``), as
merge tags with a default value do in common e-mail editors: a required field must be shared by
the customer for the purpose, or the message is not sent; a field with a fallback is supplied
only when the customer shares it for the purpose, and otherwise the fallback is rendered
(:func:`field_usage`). Rendering itself is :mod:`app.campaigns.render`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import TemplateAssertionError

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
        "offer_url",
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


class TemplateError(InvalidInput):
    """A template cannot be parsed or rendered; the message names no personal data."""


@cache
def environment(autoescape: bool) -> BoundedSandbox:
    """The sandbox templates are parsed and rendered in (HTML parts autoescaped)."""
    return BoundedSandbox(
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def syntax_failure(part: str, exc: TemplateSyntaxError) -> TemplateError:
    """The :class:`TemplateError` saying why ``part`` does not parse."""
    if isinstance(exc, TemplateAssertionError):
        return TemplateError(f"Template {part}, line {exc.lineno}: {exc.message}")
    return TemplateError(f"Template {part} has a syntax error on line {exc.lineno}: {exc.message}")


def template_parts(template: TemplateLike) -> list[tuple[str, str, bool]]:
    """(part name, source, autoescape) for each non-empty part of ``template``."""
    parts = [("subject", template.subject or "", False), ("text", template.body_text or "", False)]
    if template.body_html:
        parts.append(("html", template.body_html, True))
    return parts


def _undeclared(source: str, part: str, autoescape: bool) -> set[str]:
    """The names ``source`` uses without defining them (analysing it needs its filters)."""
    try:
        return meta.find_undeclared_variables(environment(autoescape).parse(source))
    except TemplateSyntaxError as exc:  # an unknown filter is found by the analysis
        raise syntax_failure(part, exc) from None


def template_names(template: TemplateLike) -> frozenset[str]:
    """Every undeclared name used by the subject, text and HTML of ``template``."""
    names: set[str] = set()
    for part, source, autoescape in template_parts(template):
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
    for part, source, autoescape in template_parts(template):
        try:
            _, without = _fallback_names(environment(autoescape).parse(source))
        except TemplateSyntaxError as exc:
            raise syntax_failure(part, exc) from None
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
