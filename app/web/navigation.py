"""Navigation entries per role, rendered by the base layout."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

NAVIGATION: dict[str, list[tuple[str, str]]] = {
    "customer": [
        ("portal.home", _l("Overview")),  # customers read the portal in their own language
    ],
    "marketer": [
        ("marketing.home", "Campaigns"),
    ],
    "compliance_officer": [
        ("compliance.home", "Overview"),
    ],
    "admin": [
        ("admin.home", "Staff"),
    ],
}


def register(role: str, endpoint: str, label: str) -> None:
    """Add a navigation entry for ``role`` (called by the blueprints that own the pages)."""
    entries = NAVIGATION.setdefault(role, [])
    if (endpoint, label) not in entries:
        entries.append((endpoint, label))


def items_for(user: Any) -> list[tuple[str, str]]:
    """The navigation entries the signed-in ``user`` may see."""
    if not getattr(user, "is_authenticated", False):
        return []
    return NAVIGATION.get(getattr(user, "role", ""), [])
