"""Languages as people recognise them: by their own name, and by the name in the language the
page is shown in when that differs ("Deutsch (tedesco)")."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from wtforms import SelectChoice

from app.vault.settings import LANGUAGE_NAMES


def language_label(code: str, shown_in: str) -> str:
    """The language's own name, with its name in ``shown_in`` when different."""
    own = LANGUAGE_NAMES.get(code, code)
    try:
        local = Locale.parse(code).get_display_name(shown_in) or own
    except (ValueError, UnknownLocaleError):
        return own
    return own if local.casefold() == own.casefold() else f"{own} ({local})"


def language_choices(shown_in: str, codes: tuple[str, ...] | None = None) -> list[SelectChoice]:
    """Select choices for ``codes`` (default: every language messages can be written in),
    each option marked with its own language."""
    return [
        SelectChoice(code, language_label(code, shown_in), render_kw={"lang": code})
        for code in (codes or tuple(LANGUAGE_NAMES))
    ]
