"""Campaign templates as a set: variants with weights (A/B), languages, validation.

A campaign has one or more *variants* (``A``, ``B``…), each with a weight and one template
per language. A recipient gets a variant by weight (see :mod:`app.campaigns.assign`) and the
template of their language, else of the fallback language (the worker picks it:
:meth:`app.delivery.template_book.TemplateBook.pick`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.campaigns.models import CampaignTemplate
from app.campaigns.render import render_problems
from app.campaigns.template_fields import (
    FieldUsage,
    TemplateError,
    field_usage,
    template_names,
    validate_template,
)
from app.errors import InvalidInput
from app.vault.fields import SUPPORTED_LANGUAGES

FALLBACK_LANGUAGE = "en"
MAX_TEMPLATE_CHARS = 100_000
_VARIANT = re.compile(r"[A-Z][A-Z0-9]{0,7}")


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A template as entered by a marketer, before it is stored."""

    body_text: str
    subject: str = ""
    body_html: str | None = None
    variant: str = "A"
    language: str = FALLBACK_LANGUAGE
    weight: int = 100

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> TemplateSpec:
        """Build from a form or JSON object; ``InvalidInput`` names the bad key."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInput(f"Unknown template key {sorted(unknown)[0]!r}.")
        try:
            return cls(**data)  # type: ignore[arg-type]
        except TypeError:
            raise InvalidInput("A template needs at least body_text.") from None


def check_spec(spec: TemplateSpec) -> None:
    """Refuse a malformed template spec, or one that cannot be rendered (with placeholder
    values: see :func:`~app.campaigns.render.render_problems`). Field rules of the purpose and
    the channel are checked on scheduling."""
    if not _VARIANT.fullmatch(str(spec.variant)):
        raise InvalidInput("A variant is a capital letter, optionally followed by letters/digits.")
    if spec.language not in SUPPORTED_LANGUAGES:
        raise InvalidInput(f"Template language must be one of {', '.join(SUPPORTED_LANGUAGES)}.")
    if (
        isinstance(spec.weight, bool)
        or not isinstance(spec.weight, int)
        or not 0 <= spec.weight <= 10_000
    ):
        raise InvalidInput("A variant weight is a whole number from 0 to 10000.")
    for part in (spec.subject, spec.body_text, spec.body_html or ""):
        if not isinstance(part, str) or len(part) > MAX_TEMPLATE_CHARS:
            raise InvalidInput(
                f"Template text must be text of at most {MAX_TEMPLATE_CHARS} characters."
            )
    if not spec.body_text.strip():
        raise InvalidInput("A template needs a text body.")
    if len(spec.subject) > 300:
        raise InvalidInput("A subject has at most 300 characters.")
    problems = render_problems(spec)
    if problems:
        raise InvalidInput(" ".join(problems))


def variant_weights(templates: Iterable[CampaignTemplate]) -> dict[str, int]:
    """``{variant: weight}`` in variant order (the largest weight among its templates)."""
    weights: dict[str, int] = {}
    for template in sorted(templates, key=lambda t: t.variant):
        weights[template.variant] = max(weights.get(template.variant, 0), template.weight)
    return weights


def templates_problems(
    purposes: Sequence, channel: str, templates: Sequence[CampaignTemplate]
) -> list[str]:
    """Every reason the templates cannot be sent for these policy purposes on ``channel``."""
    if not templates:
        return ["The campaign has no template."]
    problems = _set_problems(channel, templates)
    for template in templates:
        where = f"Template {template.variant}/{template.language}: "
        for purpose in purposes:
            problems += [where + problem for problem in validate_template(purpose, template)]
        problems += [where + problem for problem in render_problems(template, channel)]
    return list(dict.fromkeys(problems))


def _set_problems(channel: str, templates: Sequence[CampaignTemplate]) -> list[str]:
    problems = []
    weights = variant_weights(templates)
    if sum(weights.values()) <= 0:
        problems.append("At least one variant needs a weight above 0.")
    for variant in weights:
        languages = {t.language for t in templates if t.variant == variant}
        if FALLBACK_LANGUAGE not in languages:
            problems.append(f"Variant {variant} needs a template in '{FALLBACK_LANGUAGE}'.")
        if len({t.weight for t in templates if t.variant == variant}) > 1:
            problems.append(f"Variant {variant} has different weights in different languages.")
    if channel == "email" and any(not (t.subject or "").strip() for t in templates):
        problems.append("Every e-mail template needs a subject.")
    if channel == "sms" and any(t.body_html for t in templates):
        problems.append("SMS templates have a text body only.")
    return problems


def campaign_field_usage(templates: Iterable[CampaignTemplate]) -> FieldUsage:
    """The profile fields the campaign's templates use: a field one template requires is
    required; fields every template uses with a fallback are ``fallback`` ones."""
    usage = FieldUsage()
    for template in templates:
        try:
            usage |= field_usage(template)
        except TemplateError:
            continue  # reported by templates_problems; a broken template never schedules
    return usage


def templates_use(templates: Iterable[CampaignTemplate], name: str) -> bool:
    """True when any template of the campaign refers to ``name`` (e.g. the ``offer``)."""
    for template in templates:
        try:
            if name in template_names(template):
                return True
        except TemplateError:
            continue
    return False
