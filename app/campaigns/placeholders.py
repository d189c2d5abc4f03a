"""Placeholder values for previews and for checking templates when they are saved.

Obviously fictional values stand in for every profile field, so a template can be rendered
without any customer's data (DESIGN.md rule 7: previews use placeholder or consenting test data).
"""

from __future__ import annotations

from collections.abc import Iterable

#: Obviously fictional values used for every profile field in previews.
PLACEHOLDERS = {
    "first_name": "Alex",
    "last_name": "Sample",
    "email": "recipient@example.invalid",
    "phone": "+10000000000",
    "birthday": "2000-01-01",
    "postcode": "00000",
    "city": "Sampletown",
    "language": "en",
    "timezone": "UTC",
    "interests": "books,wine",
    "purchase_history": "[]",
}
#: Sample sender context (links, reason line, offer) for the same purpose.
SAMPLE_CONTEXT = {
    "unsubscribe_url": "https://example.invalid/u/preview",
    "preferences_url": "https://example.invalid/me/",
    "privacy_url": "https://example.invalid/privacy",
    "reason_line": "You receive this because you agreed to receive offers by email.",
    "purpose_label": "offers",
    "campaign_name": "Sample campaign",
    "brand": "Assenso",
    "offer": "New in wine: our selection for you",
    "offer_url": "https://example.invalid/o/preview",
}
#: What stands in for a name that is neither a profile field nor sender context.
UNKNOWN = "sample"


def placeholder_values(
    names: Iterable[str], context_names: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(fields, context) giving every name in ``names`` a placeholder value."""
    context_names = frozenset(context_names)
    fields = {n: PLACEHOLDERS.get(n, UNKNOWN) for n in names if n not in context_names}
    context = {n: SAMPLE_CONTEXT.get(n, UNKNOWN) for n in names if n in context_names}
    return fields, context
