"""The templates a batch needs, loaded once per batch, with their fields and compiled form."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignTemplate
from app.campaigns.template_fields import FieldUsage, field_usage

DEFAULT_VARIANT = "A"
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class TemplateView:
    """A detached copy of one campaign template (safe to use outside the session)."""

    id: int
    variant: str
    language: str
    subject: str
    body_text: str
    body_html: str | None


@dataclass(slots=True)
class TemplateBook:
    """Templates of the campaigns in a batch, by (campaign, variant, language)."""

    templates: dict[tuple[int, str, str], TemplateView] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    throttles: dict[int, int] = field(default_factory=dict)
    _usage: dict[tuple[int, str], FieldUsage] = field(default_factory=dict)

    def pick(
        self, campaign_id: int | None, variant: str | None, language: str
    ) -> TemplateView | None:
        """The template in the customer's language, else English, else any language."""
        if campaign_id is None:
            return None
        variant = variant or DEFAULT_VARIANT
        for lang in (language, DEFAULT_LANGUAGE):
            found = self.templates.get((campaign_id, variant, lang))
            if found is not None:
                return found
        return next(
            (
                t
                for (c, v, _), t in sorted(self.templates.items())
                if c == campaign_id and v == variant
            ),
            None,
        )

    def usage(self, campaign_id: int | None, variant: str | None) -> FieldUsage:
        """Profile fields used by any language of the variant (the policy checks all of them):
        required ones, and ones used only with a fallback."""
        if campaign_id is None:
            return FieldUsage()
        key = (campaign_id, variant or DEFAULT_VARIANT)
        if key not in self._usage:
            used = FieldUsage()
            for (c, v, _), view in self.templates.items():
                if (c, v) == key:
                    used |= field_usage(view)
            self._usage[key] = used
        return self._usage[key]

    def fields(self, campaign_id: int | None, variant: str | None) -> frozenset[str]:
        """The fields the variant requires (each must be shared for the purpose)."""
        return self.usage(campaign_id, variant).required

    def fallback_fields(self, campaign_id: int | None, variant: str | None) -> frozenset[str]:
        """The fields the variant uses only with a fallback (supplied when shared)."""
        return self.usage(campaign_id, variant).fallback


def load_templates(session: Session, campaign_ids: Iterable[int | None]) -> TemplateBook:
    """Every template, name and throttle of ``campaign_ids``."""
    ids = sorted({c for c in campaign_ids if c is not None})
    book = TemplateBook()
    if not ids:
        return book
    for row in session.execute(
        select(CampaignTemplate).where(CampaignTemplate.campaign_id.in_(ids))
    ).scalars():
        book.templates[(row.campaign_id, row.variant, row.language)] = TemplateView(
            row.id, row.variant, row.language, row.subject, row.body_text, row.body_html
        )
    for cid, name, throttle in session.execute(
        select(Campaign.id, Campaign.name, Campaign.throttle_per_minute).where(Campaign.id.in_(ids))
    ):
        book.names[cid] = name
        if throttle:
            book.throttles[cid] = throttle
    return book
