"""Segment documents: parsing, validation, the condition registry, shared-value matching."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.campaigns.segment_conditions import value_tier
from app.campaigns.segments import (
    Condition,
    SegmentContext,
    parse_segment,
    register_condition,
    registered_conditions,
    segment_json,
)
from app.errors import InvalidInput

CTX = SegmentContext("offers", "email", datetime(2026, 6, 1, tzinfo=UTC))


def test_empty_segment_has_no_conditions():
    assert parse_segment("{}").parts == ()
    assert parse_segment(None).where(CTX) is None


def test_full_segment_parses_and_knows_its_shared_fields():
    segment = parse_segment(
        {
            "version": 1,
            "consent_age_days": {"at_least": 30, "at_most": 365},
            "consent_expiring_within_days": 14,
            "jurisdictions": ["EU"],
            "languages": ["it"],
            "timezones": ["Europe/Rome"],
            "interests_any": ["wine"],
            "cities": ["Milano"],
            "postcode_prefixes": ["201"],
            "spend_tiers": ["high"],
        }
    )
    assert segment.shared_fields == {"interests", "city", "postcode", "purchase_history"}
    assert segment.where(CTX) is not None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[1]", "JSON object"),
        ("{nope", "not valid JSON"),
        ({"version": 2}, "version"),
        ({"shoe_size": [42]}, "Unknown segment condition 'shoe_size'"),
        ({"consent_age_days": {"at_least": -1}}, "0 to"),
        ({"consent_age_days": {"at_least": 9, "at_most": 3}}, "greater"),
        ({"languages": []}, "list of 1"),
        ({"timezones": ["Mars/Base"]}, "not known"),
        ({"value_tiers": ["platinum"]}, "tiers are"),
        ({"value_tiers": ["high"], "spend_tiers": ["low"]}, "former name"),
        ({"interests_any": ["Not A Tag"]}, "not allowed"),
    ],
)
def test_bad_segments_are_refused_with_a_clear_message(document, message):
    with pytest.raises(InvalidInput, match=message):
        parse_segment(document)


def test_shared_values_are_matched_after_decryption():
    segment = parse_segment({"interests_any": ["wine"], "cities": [" milano "]})
    assert segment.matches({"interests": "books,wine", "city": "Milano"}, CTX)
    assert not segment.matches({"interests": "books", "city": "Milano"}, CTX)
    assert not segment.matches({"interests": "wine"}, CTX)  # city not shared: not in segment


def test_value_tier_counts_the_last_year_only():
    history = json.dumps(
        [
            {"sku": "a", "category": "wine", "amount_cents": 60_000, "at": "2024-01-01"},
            {"sku": "b", "category": "wine", "amount_cents": 20_000, "at": "2026-05-01"},
        ]
    )
    assert value_tier(history, CTX.at) == "mid"
    assert value_tier("[]", CTX.at) == "none"


def test_new_conditions_plug_into_the_registry(monkeypatch):
    from app.campaigns import segments

    monkeypatch.setattr(segments, "_REGISTRY", dict(registered_conditions()))

    class RfmTier(Condition):
        name = "test_rfm_tiers"
        shared_field = "purchase_history"

        def parse(self, value):
            return frozenset(value)

        def matches(self, params, value, ctx):
            return "champion" in params

    register_condition(RfmTier())
    assert "test_rfm_tiers" in registered_conditions()
    assert parse_segment({"test_rfm_tiers": ["champion"]}).matches({"purchase_history": "[]"}, CTX)


def test_canonical_json_adds_the_version():
    assert json.loads(segment_json({"languages": ["it"]})) == {"languages": ["it"], "version": 1}


def test_the_former_name_of_spend_tiers_is_read_and_saved_under_the_new_one():
    assert json.loads(segment_json({"value_tiers": ["high"]})) == {
        "spend_tiers": ["high"],
        "version": 1,
    }
    assert parse_segment({"value_tiers": ["low"]}).shared_fields == {"purchase_history"}
