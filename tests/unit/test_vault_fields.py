"""The field catalogue: every field accepts good values and rejects bad ones without echo."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.vault import FIELDS, FieldValidationError, UnknownFieldError, field_spec
from app.vault.fields import MAX_INTERESTS, MAX_PURCHASES

NAMES = [
    "email", "phone", "first_name", "last_name", "birthday", "postcode", "city",
    "language", "interests", "purchase_history",
]  # fmt: skip
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
PURCHASE = {"sku": "SKU-1042", "category": "wine", "amount_cents": 1999, "at": "2024-05-01"}

GOOD = [
    ("email", " Giulia.Rossi@Example.IT ", "Giulia.Rossi@example.it"),
    ("email", "anna@bücher.example", "anna@bücher.example"),
    ("phone", "+39 312 345 6789", "+393123456789"),
    ("phone", "0044 (20) 7946-0018", "+442079460018"),
    ("first_name", "  Maria   Grazia ", "Maria Grazia"),
    ("last_name", "D'Annunzio", "D'Annunzio"),
    ("birthday", "1990-04-25", "1990-04-25"),
    ("birthday", dt.date(1900, 1, 1), "1900-01-01"),
    ("postcode", " sw1a   1aa ", "SW1A 1AA"),
    ("postcode", "00184", "00184"),
    ("city", "Città di Castello", "Città di Castello"),
    ("language", "IT", "it"),
    ("interests", "Wine, books ,wine,", "books,wine"),
    ("interests", ["sport", "outdoor-cooking"], "outdoor-cooking,sport"),
    ("purchase_history", [], "[]"),
    (
        "purchase_history",
        json.dumps([{**PURCHASE, "at": "2024-05-01T10:00:00+02:00"}], indent=2),
        '[{"amount_cents":1999,"at":"2024-05-01T08:00:00Z","category":"wine","sku":"SKU-1042"}]',
    ),
]

BAD = [
    ("email", "giulia.rossi@@example", "invalid"),
    ("email", "giulia.rossi at example.it", "invalid"),
    ("email", "giulia<script>@example.it", "invalid"),
    ("email", 12345, "wrong_type"),
    ("phone", "3123456789", "invalid"),
    ("phone", "+39 312 abc 6789", "invalid"),
    ("phone", "+1234567", "invalid"),
    ("phone", "+1234567890123456", "invalid"),
    ("first_name", "   ", "required"),
    ("first_name", "Mario\x00Rossi", "control_characters"),
    ("first_name", "Rossi\u202egnissorG", "control_characters"),
    ("last_name", "Verdi" * 17, "too_long"),
    ("last_name", "Verdi" * 500, "too_long"),
    ("birthday", TOMORROW, "future"),
    ("birthday", "1899-12-31", "too_early"),
    ("birthday", "1990-02-30", "invalid"),
    ("birthday", "25/04/1990", "invalid"),
    ("birthday", dt.datetime(1990, 4, 25, 12, 0), "wrong_type"),
    ("postcode", "SW1A#1AA", "invalid"),
    ("postcode", "12345678901", "invalid"),
    ("city", "Roma\nMilano", "control_characters"),
    ("language", "klingon", "unsupported"),
    ("interests", "wine, free <b>stuff</b>", "invalid"),
    ("interests", ",".join(f"tag{i}" for i in range(MAX_INTERESTS + 1)), "too_many"),
    ("interests", 7, "wrong_type"),
    ("purchase_history", "{not json", "invalid"),
    ("purchase_history", '{"sku": "SKU-1"}', "invalid"),
    ("purchase_history", [{**PURCHASE, "card": "4111111111111111"}], "invalid"),
    ("purchase_history", [{**PURCHASE, "amount_cents": -5}], "invalid"),
    ("purchase_history", [{**PURCHASE, "amount_cents": True}], "invalid"),
    ("purchase_history", [{**PURCHASE, "at": "2024-05-01T10:00:00"}], "invalid"),
    ("purchase_history", [{**PURCHASE, "sku": "SKU\u0000"}], "invalid"),
    ("purchase_history", [PURCHASE] * (MAX_PURCHASES + 1), "too_many"),
]


def test_catalogue_holds_exactly_the_platform_fields() -> None:
    assert list(FIELDS) == NAMES
    assert [n for n, s in FIELDS.items() if s.required_for_account] == ["email"]
    assert {n: s.enables_channel for n, s in FIELDS.items() if s.enables_channel} == {
        "email": "email",
        "phone": "sms",
    }


def test_every_field_has_labels_in_english_and_italian() -> None:
    for spec in FIELDS.values():
        assert spec.label("en") and spec.label("it") and spec.max_length > 0
    assert field_spec("birthday").label("it") == "Data di nascita"


def test_unknown_field_is_refused() -> None:
    with pytest.raises(UnknownFieldError, match="unknown profile field 'shoe_size'"):
        field_spec("shoe_size")


@pytest.mark.parametrize(("name", "value", "canonical"), GOOD)
def test_good_values_are_normalised(name: str, value: object, canonical: str) -> None:
    assert field_spec(name).normalise_and_validate(value) == canonical


@pytest.mark.parametrize(("name", "value", "code"), BAD)
def test_bad_values_are_rejected_without_echo(name: str, value: object, code: str) -> None:
    with pytest.raises(FieldValidationError) as caught:
        field_spec(name).normalise_and_validate(value)
    error = caught.value
    assert (error.field, error.code) == (name, code)
    assert error.__context__ is None and error.__cause__ is None
    assert error.message.endswith(".") and len(error.message) < 100
    for fragment in _fragments(value):
        assert fragment not in error.message


def test_every_field_is_covered_by_good_and_bad_examples() -> None:
    assert {n for n, *_ in GOOD} == set(NAMES) == {n for n, *_ in BAD}


def test_every_text_field_rejects_control_characters() -> None:
    for spec in FIELDS.values():
        with pytest.raises(FieldValidationError, match="control characters"):
            spec.normalise_and_validate("x\x1by")


def _fragments(value: object) -> list[str]:
    """Distinctive pieces of a rejected value that must not reappear in the message."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return [piece for piece in text.replace(",", " ").split() if len(piece) >= 5]
