"""Account settings are validated once and are not profile fields anywhere."""

from __future__ import annotations

import json

import pytest

from app.errors import InvalidInput
from app.policy.document import PROFILE_FIELDS
from app.policy.loader import SCHEMA_PATH
from app.vault.fields import FIELDS, HELD_FIELDS, SUPPORTED_LANGUAGES
from app.vault.settings import (
    LANGUAGE_MESSAGE,
    LANGUAGE_NAMES,
    TIMEZONE_MESSAGE,
    check_language,
    check_timezone,
    zone_named,
)


@pytest.mark.parametrize(("typed", "stored"), [("Europe/Rome", "Europe/Rome"), (" UTC ", "UTC")])
def test_known_time_zones_are_accepted(typed, stored):
    assert check_timezone(typed) == stored


@pytest.mark.parametrize("typed", ["Europe/Atlantis", "../../etc/passwd", "", "europe/rome", 7])
def test_unknown_time_zones_are_refused_without_echo(typed):
    with pytest.raises(InvalidInput) as caught:
        check_timezone(typed)
    assert str(caught.value) == TIMEZONE_MESSAGE


def test_an_unknown_stored_zone_reads_as_utc():
    assert zone_named("Mars/Olympus_Mons").key == "UTC"
    assert zone_named("Asia/Tokyo").key == "Asia/Tokyo"


def test_the_time_zone_is_no_profile_field_for_the_vault_or_the_policies():
    enum = json.loads(SCHEMA_PATH.read_text())["$defs"]["profile_field"]["enum"]
    assert "timezone" not in FIELDS
    assert set(enum) == PROFILE_FIELDS == set(FIELDS)


@pytest.mark.parametrize(("typed", "stored"), [("it", "it"), (" DE ", "de")])
def test_offered_languages_are_accepted(typed, stored):
    assert check_language(typed) == stored


@pytest.mark.parametrize("typed", ["tlh", "", "english", "it-IT", None, 3])
def test_other_languages_are_refused(typed):
    with pytest.raises(InvalidInput) as caught:
        check_language(typed)
    assert str(caught.value) == LANGUAGE_MESSAGE


def test_the_language_is_a_field_purposes_may_use_but_held_on_the_account():
    assert tuple(LANGUAGE_NAMES) == SUPPORTED_LANGUAGES
    assert FIELDS["language"].on_account and "language" not in HELD_FIELDS
    assert [name for name in FIELDS if name not in HELD_FIELDS] == ["language"]
