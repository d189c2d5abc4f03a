"""Loading policy files: shipped files valid, every kind of broken file named precisely."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.policy import PROFILE_FIELDS, PolicyError, check_policies, load_policies, load_policy

POLICIES = Path(__file__).resolve().parents[2] / "policies"
EU = POLICIES / "eu-gdpr.yaml"
US = POLICIES / "us-can-spam.yaml"


def write(tmp_path: Path, text: str, name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def broken(tmp_path: Path, old: str, new: str, name: str = "broken.yaml") -> Path:
    """A copy of the EU policy with ``old`` replaced by ``new`` (exactly once)."""
    text = EU.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return write(tmp_path, text.replace(old, new), name)


def problem_of(path: Path) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return str(info.value)


def test_shipped_policies_are_valid_and_consistent():
    policy_set = load_policies(POLICIES)
    assert check_policies([POLICIES]) == []
    assert {p.policy_id for p in policy_set.policies} == {"eu-gdpr", "us-can-spam"}
    assert policy_set.for_jurisdiction("IT").policy_id == "eu-gdpr"
    assert policy_set.for_jurisdiction("NO").policy_id == "eu-gdpr"
    assert policy_set.for_jurisdiction("US").policy_id == "us-can-spam"


def test_shipped_policies_declare_the_demo_purposes_and_channels():
    for path in (EU, US):
        policy = load_policy(path)
        assert {"offers", "birthday", "recommendations", "surveys", "partners"} <= set(
            policy.purposes
        )
        assert set(policy.channels) == {"email", "sms"}
        for purpose in policy.purposes.values():
            assert purpose.fields <= PROFILE_FIELDS
            assert {"en", "it"} <= set(purpose.labels)
            assert {"en", "it"} <= set(purpose.descriptions), purpose.id
            assert purpose.description_in("it") != purpose.description_in("en")
    eu = load_policy(EU)
    assert eu.purposes["birthday"].fields >= {"birthday", "first_name"}
    assert eu.purposes["recommendations"].profiling
    assert eu.settings.minimum_age == 16
    assert dict(eu.settings.max_per_week) == {"email": 3, "sms": 2}


def test_profile_fields_match_the_vault_catalogue():
    from app.vault.fields import FIELDS

    assert set(FIELDS) == PROFILE_FIELDS


def test_policy_is_identified_by_the_hash_of_its_exact_bytes():
    policy = load_policy(EU)
    assert policy.sha256 == hashlib.sha256(EU.read_bytes()).hexdigest()
    assert policy.source_text == EU.read_text(encoding="utf-8")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = broken(tmp_path, "policy_id: eu-gdpr", "policy_id: [eu-gdpr")
    message = problem_of(path)
    assert str(path) in message and "YAML error" in message
    assert f"{path}:" in message.split(" YAML")[0]


def test_duplicate_key_is_rejected_with_its_line(tmp_path):
    path = broken(tmp_path, "title: EU GDPR", "title: Duplicate\ntitle: EU GDPR")
    message = problem_of(path)
    line = (
        EU.read_text()
        .splitlines()
        .index(next(x for x in EU.read_text().splitlines() if x.startswith("title:")))
    )
    assert "duplicate key 'title'" in message
    assert f"{path}:{line + 2}:" in message


def test_schema_violation_names_pointer_and_line(tmp_path):
    path = broken(tmp_path, "minimum_age: 16", "minimum_age: sixteen")
    message = problem_of(path)
    assert "/settings/minimum_age" in message and "'sixteen'" in message
    line = next(i for i, x in enumerate(path.read_text().splitlines(), 1) if "sixteen" in x)
    assert f"{path}:{line}:" in message


def test_purpose_texts_per_language_fall_back_to_english(tmp_path):
    path = broken(
        tmp_path,
        "labels: {en: Birthday offers, it: Offerte per il compleanno}",
        "labels: {en: Birthday offers}",
    )
    birthday = load_policy(path).purposes["birthday"]
    assert birthday.label_in("it") == "Birthday offers"
    assert birthday.description_in("it").startswith("Un augurio")
    assert birthday.description_in("de") == birthday.description == birthday.description_in("en")
    old = load_policy(
        broken(
            tmp_path,
            "      en: A greeting and an offer on your birthday.\n"
            '      it: "Un augurio e un\'offerta per il tuo compleanno."',
            "      A greeting and an offer on your birthday.",
            "single.yaml",
        )
    )
    assert (
        old.purposes["birthday"].description_in("it") == "A greeting and an offer on your birthday."
    )


def test_purpose_texts_need_english(tmp_path):
    path = broken(
        tmp_path,
        "      en: A greeting and an offer on your birthday.\n",
        "      fr: Un message pour votre anniversaire.\n",
    )
    assert "/purposes/1/description" in problem_of(path)
    path = broken(
        tmp_path,
        "labels: {en: Birthday offers, it: Offerte per il compleanno}",
        "labels: {it: Offerte per il compleanno}",
        "labels.yaml",
    )
    message = problem_of(path)
    assert "/purposes/1/labels" in message and "'en' is a required property" in message


def test_misspelt_key_is_caught(tmp_path):
    path = broken(tmp_path, "customer_limits_apply: true", "customer_limit_apply: true")
    message = problem_of(path)
    assert "customer_limit_apply" in message and "/settings" in message


def test_unquoted_clock_time_is_caught(tmp_path):
    path = broken(tmp_path, 'start: "21:00"', "start: 21:00")  # YAML 1.1 reads 1260
    assert "/settings/quiet_hours/0/start" in problem_of(path)


def test_unknown_profile_field_in_purpose(tmp_path):
    path = broken(tmp_path, "fields: [first_name, birthday, language]", "fields: [shoe_size]")
    message = problem_of(path)
    assert "/purposes/1/fields/0" in message and "shoe_size" in message


def test_unknown_purpose_in_soft_opt_in(tmp_path):
    path = broken(tmp_path, "    purposes: [offers]", "    purposes: [coupons]")
    message = problem_of(path)
    assert "/settings/soft_opt_in/purposes" in message and "unknown purpose 'coupons'" in message


def test_unknown_channel_in_weekly_caps(tmp_path):
    path = broken(tmp_path, "max_per_week: {email: 3, sms: 2}", "max_per_week: {email: 3, fax: 2}")
    message = problem_of(path)
    assert "/settings/max_per_week/fax" in message and "unknown channel 'fax'" in message


def test_channel_without_address_field(tmp_path):
    path = broken(tmp_path, "    address_field: phone\n", "")
    message = problem_of(path)
    assert "/channels/1" in message and "'address_field' is a required property" in message


def test_duplicate_purpose_id(tmp_path):
    path = broken(tmp_path, "  - id: surveys", "  - id: offers")
    assert "/purposes/3/id" in problem_of(path)


def test_channel_without_model(tmp_path):
    path = broken(tmp_path, "model: {email: opt_in, sms: opt_in}", "model: {email: opt_in}")
    assert "no model (opt_in/opt_out) declared for channel 'sms'" in problem_of(path)


def test_opt_out_model_with_double_opt_in(tmp_path):
    path = broken(
        tmp_path, "model: {email: opt_in, sms: opt_in}", "model: {email: opt_out, sms: opt_in}"
    )
    assert "asks for double opt-in" in problem_of(path)


def test_invalid_utf8(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"policy_id: \xff\n")
    assert f"{path}: byte" in problem_of(path)


def test_two_files_claiming_the_same_jurisdiction(tmp_path):
    write(tmp_path, EU.read_text(), "eu.yaml")
    text = US.read_text().replace('jurisdictions: ["US"]', 'jurisdictions: ["US", "IT"]')
    write(tmp_path, text, "us.yaml")
    with pytest.raises(PolicyError, match=r"/jurisdictions: IT is already claimed by .*eu.yaml"):
        load_policies(tmp_path)


def test_unknown_default_and_two_defaults(tmp_path):
    write(tmp_path, EU.read_text(), "eu.yaml")
    write(tmp_path, US.read_text(), "us.yaml")
    with pytest.raises(PolicyError, match="unknown default policy 'nowhere'"):
        load_policies(tmp_path, default="nowhere")
    write(
        tmp_path,
        US.read_text().replace("jurisdictions:", "default: true\njurisdictions:"),
        "us.yaml",
    )
    with pytest.raises(PolicyError, match="more than one policy declares itself default"):
        load_policies(tmp_path)


def test_default_only_when_declared(tmp_path):
    write(tmp_path, EU.read_text().replace("default: true\n", ""), "eu.yaml")
    policy_set = load_policies(tmp_path)
    assert policy_set.for_jurisdiction("CH") is None
    assert load_policies(tmp_path, default="eu-gdpr").for_jurisdiction("CH").policy_id == "eu-gdpr"
    assert load_policies(POLICIES).for_jurisdiction("CH").policy_id == "eu-gdpr"


def test_check_policies_collects_every_problem(tmp_path):
    one = broken(tmp_path, "minimum_age: 16", "minimum_age: -1", "one.yaml")
    two = broken(tmp_path, "title: EU GDPR", "titel: EU GDPR", "two.yaml")
    problems = check_policies([one, two, tmp_path / "missing.yaml"])
    assert any(str(one) in p and "/settings/minimum_age" in p for p in problems)
    assert any(str(two) in p and "titel" in p for p in problems)
    assert any("missing.yaml" in p and "cannot read" in p for p in problems)
