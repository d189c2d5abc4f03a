"""The catalogue of profile fields the platform may hold, with their validation.

The customer's time zone is not a profile field: it is a setting of the account that every
decision reads (see :mod:`app.vault.settings`). The language is a setting of the account too,
held there once (``on_account``); it stays in the catalogue because a purpose may let its
messages use it, which the customer allows or refuses like any other field.

``FieldSpec.normalise_and_validate`` turns what a customer typed into the canonical string
that is encrypted.  Rejections raise ``FieldValidationError`` whose message is meant for the
customer and never repeats the value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from email_validator import EmailNotValidError, validate_email

from app.vault.errors import FieldValidationError, UnknownFieldError

SUPPORTED_LANGUAGES = ("en", "it", "de", "fr", "es")
SUGGESTED_INTERESTS = (
    "books",
    "beauty",
    "electronics",
    "fashion",
    "food",
    "garden",
    "home",
    "kids",
    "music",
    "outdoor",
    "pets",
    "sport",
    "travel",
    "wine",
)
MAX_INTERESTS = 20
MAX_PURCHASES = 200
EARLIEST_BIRTHDAY = dt.date(1900, 1, 1)

# C0/C1 controls and the bidirectional overrides used to disguise text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JSON_WHITESPACE = re.compile("[\t\n\r]")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_POSTCODE = re.compile(r"[A-Z0-9](?:[A-Z0-9 -]{0,8}[A-Z0-9])?")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_PURCHASE_KEYS = frozenset({"sku", "category", "amount_cents", "at"})


class FieldType(StrEnum):
    """What kind of value a profile field holds."""

    EMAIL = "email"
    PHONE = "phone"
    TEXT = "text"
    DATE = "date"
    POSTCODE = "postcode"
    LANGUAGE = "language"
    TAGS = "tags"
    PURCHASES = "purchases"


class _Invalid(Exception):
    """Raised by normalisers with a code and user-facing message; wrapped per field."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One profile field: its labels, type, limits, channel and normaliser."""

    name: str
    label_en: str
    label_it: str
    type: FieldType
    max_length: int
    required_for_account: bool = False
    enables_channel: str | None = None
    #: Held once, unencrypted, on the customer's account row (a setting), never in the vault.
    on_account: bool = False
    normaliser: Callable[[object], str] = field(default=str, repr=False, compare=False)

    def label(self, language: str = "en") -> str:
        """The field's label in ``language`` ("it" or, by default, English)."""
        return self.label_it if language == "it" else self.label_en

    def normalise_and_validate(self, value: object) -> str:
        """Return the canonical serialised value to encrypt, or raise ``FieldValidationError``."""
        try:
            if isinstance(value, str):
                _check_text(value, self.max_length * 4, allow_json_space=self._is_json)
            canonical = self.normaliser(value)
            if not canonical:
                raise _Invalid("required", "This field cannot be empty.")
            if len(canonical) > self.max_length:
                raise _Invalid("too_long", f"Use at most {self.max_length} characters.")
            return canonical
        except _Invalid as problem:
            failure = FieldValidationError(self.name, problem.code, problem.message)
        # Raised outside ``except`` so no chained exception (which may quote the value,
        # e.g. json's JSONDecodeError.doc) stays attached to the error.
        raise failure

    @property
    def _is_json(self) -> bool:
        return self.type is FieldType.PURCHASES


def _check_text(value: str, hard_limit: int, *, allow_json_space: bool = False) -> None:
    """Reject oversize input early, and control characters anywhere."""
    if len(value) > hard_limit:
        raise _Invalid("too_long", "This value is far too long.")
    text = _JSON_WHITESPACE.sub("", value) if allow_json_space else value
    if _CONTROL.search(text):
        raise _Invalid("control_characters", "Remove invisible control characters.")


def _require_str(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid("wrong_type", "Enter this value as text.")
    return unicodedata.normalize("NFC", value).strip()


def _email(value: object) -> str:
    try:
        checked = validate_email(_require_str(value), check_deliverability=False)
    except EmailNotValidError:
        raise _Invalid("invalid", "Enter a valid e-mail address, like name@example.com.") from None
    return checked.normalized


def _phone(value: object) -> str:
    text = _PHONE_SEPARATORS.sub("", _require_str(value))
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text[1:]
    if not text.startswith("+") or not digits.isascii() or not digits.isdigit():
        raise _Invalid("invalid", "Enter the number with its country code, like +39 312 345 6789.")
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise _Invalid("invalid", "A phone number has 8 to 15 digits after the country code +.")
    return "+" + digits


def _name_text(value: object) -> str:
    return " ".join(_require_str(value).split())


def _birthday(value: object) -> str:
    if isinstance(value, dt.datetime):
        raise _Invalid("wrong_type", "Enter a date like 1990-04-25.")
    if isinstance(value, dt.date):
        day = value
    else:
        text = _require_str(value)
        if not _ISO_DATE.fullmatch(text):
            raise _Invalid("invalid", "Enter a date like 1990-04-25.")
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise _Invalid("invalid", "This date does not exist.") from None
    if day > dt.date.today():
        raise _Invalid("future", "A birthday cannot be in the future.")
    if day < EARLIEST_BIRTHDAY:
        raise _Invalid("too_early", "Enter a birthday from 1900 onwards.")
    return day.isoformat()


def _postcode(value: object) -> str:
    text = " ".join(_require_str(value).upper().split())
    if text and not _POSTCODE.fullmatch(text):
        raise _Invalid("invalid", "A postcode has up to 10 letters, digits, spaces or hyphens.")
    return text


def _language(value: object) -> str:
    text = _require_str(value).lower()
    if text not in SUPPORTED_LANGUAGES:
        raise _Invalid("unsupported", "Choose one of the offered languages.")
    return text


def _interests(value: object) -> str:
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise _Invalid("wrong_type", "Enter interests as a comma-separated list.")
    if len(items) > MAX_INTERESTS * 2:
        raise _Invalid("too_many", f"Choose at most {MAX_INTERESTS} interests.")
    tags = set()
    for item in items:
        tag = _require_str(item).lower()
        if tag and not _SLUG.fullmatch(tag):
            raise _Invalid("invalid", "Interests use letters, digits and hyphens, 32 at most.")
        if tag:
            tags.add(tag)
    if len(tags) > MAX_INTERESTS:
        raise _Invalid("too_many", f"Choose at most {MAX_INTERESTS} interests.")
    return ",".join(sorted(tags))


def _purchases(value: object) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise _Invalid("invalid", "Purchase history must be a JSON list.") from None
    if not isinstance(value, list | tuple):
        raise _Invalid("invalid", "Purchase history must be a JSON list.")
    if len(value) > MAX_PURCHASES:
        raise _Invalid("too_many", f"Keep at most {MAX_PURCHASES} purchases.")
    rows = [_purchase(item) for item in value]
    return json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _purchase(item: object) -> dict[str, object]:
    bad = _Invalid("invalid", "Each purchase needs sku, category, amount_cents and at.")
    if not isinstance(item, dict) or set(item) != _PURCHASE_KEYS:
        raise bad
    sku, category, amount, at = item["sku"], item["category"], item["amount_cents"], item["at"]
    if not (isinstance(sku, str) and _SKU.fullmatch(sku)):
        raise bad
    if not (isinstance(category, str) and _SLUG.fullmatch(category)):
        raise bad
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= 10**9:
        raise _Invalid("invalid", "A purchase amount is a whole number of cents, 0 or more.")
    return {"sku": sku, "category": category, "amount_cents": amount, "at": _purchase_time(at)}


def _purchase_time(at: object) -> str:
    bad = _Invalid("invalid", "A purchase time is an ISO 8601 date or date-time.")
    if not isinstance(at, str) or len(at) > 40:
        raise bad
    if _ISO_DATE.fullmatch(at):
        try:
            return dt.date.fromisoformat(at).isoformat()
        except ValueError:
            raise bad from None
    try:
        moment = dt.datetime.fromisoformat(at)
    except ValueError:
        raise bad from None
    if moment.tzinfo is None:
        raise _Invalid("invalid", "A purchase date-time needs a time zone offset, like Z.")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec(name: str, en: str, it: str, kind: FieldType, size: int, fn, **extra) -> FieldSpec:
    return FieldSpec(name, en, it, kind, size, normaliser=fn, **extra)


_T = FieldType
# A table, one field per line (the formatter would stack each long row vertically).
FIELDS: Mapping[str, FieldSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _spec("email", "E-mail address", "Indirizzo e-mail", _T.EMAIL, 254, _email,
                  required_for_account=True, enables_channel="email"),
            _spec("phone", "Mobile phone", "Cellulare", _T.PHONE, 16, _phone,
                  enables_channel="sms"),
            _spec("first_name", "First name", "Nome", _T.TEXT, 80, _name_text),
            _spec("last_name", "Last name", "Cognome", _T.TEXT, 80, _name_text),
            _spec("birthday", "Birthday", "Data di nascita", _T.DATE, 10, _birthday),
            _spec("postcode", "Postcode", "CAP", _T.POSTCODE, 10, _postcode),
            _spec("city", "City", "Città", _T.TEXT, 80, _name_text),
            _spec("language", "Language", "Lingua", _T.LANGUAGE, 2, _language, on_account=True),
            _spec("interests", "Interests", "Interessi", _T.TAGS, 700, _interests),
            _spec("purchase_history", "Purchase history", "Storico acquisti", _T.PURCHASES,
                  32_000, _purchases),
        )
    }
)  # fmt: skip

#: The fields whose values the vault holds, encrypted; the others are settings of the account.
HELD_FIELDS: tuple[str, ...] = tuple(name for name, spec in FIELDS.items() if not spec.on_account)


def field_spec(name: str) -> FieldSpec:
    """Return the catalogue entry for ``name`` or raise ``UnknownFieldError``."""
    try:
        return FIELDS[name]
    except (KeyError, TypeError):
        raise UnknownFieldError(str(name)) from None
