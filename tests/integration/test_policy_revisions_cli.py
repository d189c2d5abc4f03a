"""Recorded policy revisions and the ``flask policy`` commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.policy import load_policies
from app.policy.revisions import ensure_recorded, record_policy_load
from app.services import runtime
from tests.integration.test_policy_builders import AT, Profile, add_customer

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def policy_dir(tmp_path) -> Path:
    """A writable copy of the shipped policy directory."""
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("*.json"))
    return target


def test_first_load_records_every_file_then_only_changes(session, policy_dir):
    first = record_policy_load(session, load_policies(policy_dir), "tester", "initial")
    assert {r.policy_id for r in first} == {"eu-gdpr", "us-can-spam"}
    assert all(r.previous_sha256 is None and r.diff is None for r in first)
    assert ensure_recorded(session, load_policies(policy_dir)) == []

    us = policy_dir / "us-can-spam.yaml"
    us.write_text(us.read_text().replace("email: 5, sms: 2", "email: 4, sms: 2"))
    changed = record_policy_load(session, load_policies(policy_dir), "tester", "lower cap")
    assert [r.policy_id for r in changed] == ["us-can-spam"]
    revision = changed[0]
    old = next(r for r in first if r.policy_id == "us-can-spam")
    assert revision.previous_sha256 == old.sha256
    assert "-  max_per_week: {email: 5, sms: 2}" in revision.diff
    assert "+  max_per_week: {email: 4, sms: 2}" in revision.diff
    assert revision.actor == "tester" and revision.reason == "lower cap"


def test_check_accepts_valid_files_and_lists_problems(runner, policy_dir):
    assert runner.invoke(args=["policy", "check", str(policy_dir)]).exit_code == 0
    bad = policy_dir / "eu-gdpr.yaml"
    bad.write_text(bad.read_text().replace("minimum_age: 16", "minimum_age: old"))
    result = runner.invoke(args=["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert "eu-gdpr.yaml:" in result.output and "minimum_age" in result.output
    assert "Traceback" not in result.output


def test_reload_records_and_swaps_or_refuses(app_factory, policy_dir):
    app = app_factory(POLICY_DIR=str(policy_dir))
    with app.app_context():
        runner = app.test_cli_runner()
        before = runtime().policies
        result = runner.invoke(args=["policy", "reload", "--reason", "first"])
        assert result.exit_code == 0, result.output
        assert "recorded eu-gdpr.yaml" in result.output

        us = policy_dir / "us-can-spam.yaml"
        us.write_text(us.read_text().replace('version: "2024.1"', 'version: "2024.2"'))
        result = runner.invoke(args=["policy", "reload"])
        assert result.exit_code == 0 and "1 changed" in result.output
        assert runtime().policies is not before
        assert runtime().policies.by_id["us-can-spam"].version == "2024.2"

        active = runtime().policies
        us.write_text("policy_id: [unclosed")
        result = runner.invoke(args=["policy", "reload"])
        assert result.exit_code == 1
        assert "us-can-spam.yaml" in result.output and "previous set stays active" in result.output
        assert runtime().policies is active


def test_list_shows_files_and_hashes(runner):
    result = runner.invoke(args=["policy", "list"])
    assert result.exit_code == 0
    for policy in runtime().policies.policies:
        assert policy.sha256 in result.output and policy.policy_id in result.output


def test_explain_prints_the_trace_rule_by_rule(runner, session):
    cid = add_customer(
        session,
        Profile(
            consents={("offers", "email"): ("granted", True, 10, None)},
            shares={"offers": ["first_name"]},
        ),
    )
    session.commit()
    args = ["policy", "explain", "--customer", str(cid), "--purpose", "offers"]
    result = runner.invoke(
        args=[*args, "--channel", "email", "--at", AT.isoformat(), "--fields", "first_name"]
    )
    assert result.exit_code == 0, result.output
    for rule in ("objection", "lawful_basis", "data_minimisation", "contact_window"):
        assert rule in result.output
    assert "decision: allow (allowed)" in result.output

    result = runner.invoke(args=[*args, "--channel", "email", "--at", "yesterday"])
    assert result.exit_code == 1 and "ISO 8601" in result.output
    result = runner.invoke(args=["policy", "explain", "--customer", "987654", "--purpose",
                                 "offers", "--channel", "email"])  # fmt: skip
    assert result.exit_code == 1 and "unknown or erased" in result.output
    assert "Traceback" not in result.output
