"""Recorded loads of the policy set, the set in force, and the ``flask policy`` commands."""

from __future__ import annotations

import getpass
import logging
import shutil
from pathlib import Path

import pytest

from app.policy import load_policies
from app.policy_sets.in_force import policies_in_force, refresh_policies
from app.policy_sets.revisions import ConcurrentLoad, ensure_recorded, record_policy_load, set_files
from tests.integration.test_policy_builders import AT, Profile, add_customer

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def policy_dir(tmp_path) -> Path:
    """A writable copy of the shipped policy directory."""
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("*.json"))
    return target


def test_the_start_records_every_file_then_a_load_only_changes(session, policy_dir):
    from app.policy_sets.revisions import set_in_force

    first = set_in_force(session)  # recorded when the application started
    assert (first.id, first.previous_id, first.actor) == (1, 0, "system")
    started = set_files(session, first.id)
    assert {r.policy_id for r in started} == {"eu-gdpr", "us-can-spam"}
    assert all(r.previous_sha256 is None and r.diff is None for r in started)
    assert record_policy_load(session, load_policies(policy_dir), "operator:x").set_revision is None
    assert ensure_recorded(session, load_policies(policy_dir)).set_revision is None

    us = policy_dir / "us-can-spam.yaml"
    us.write_text(us.read_text().replace("email: 5, sms: 2", "email: 4, sms: 2"))
    changed = record_policy_load(session, load_policies(policy_dir), "operator:tester", "lower cap")
    assert changed.set_revision.previous_id == 1
    assert [r.policy_id for r in changed.changed] == ["us-can-spam"]
    revision = changed.changed[0]
    old = next(r for r in started if r.policy_id == "us-can-spam")
    assert revision.previous_sha256 == old.sha256
    assert "-  max_per_week: {email: 5, sms: 2}" in revision.diff
    assert "+  max_per_week: {email: 4, sms: 2}" in revision.diff
    assert revision.actor == "operator:tester" and revision.reason == "lower cap"
    members = {r.policy_id: r.id for r in set_files(session, changed.set_revision.id)}
    eu = next(r for r in started if r.policy_id == "eu-gdpr")
    assert members == {"eu-gdpr": eu.id, "us-can-spam": revision.id}


def test_two_loads_from_the_same_set_cannot_both_be_recorded(session, policy_dir, monkeypatch):
    from app.policy_sets import revisions

    first = revisions.set_in_force(session)
    us = policy_dir / "us-can-spam.yaml"
    us.write_text(us.read_text().replace("email: 5, sms: 2", "email: 4, sms: 2"))
    assert record_policy_load(session, load_policies(policy_dir), "operator:b").set_revision
    # A third load that read set 1 as in force just before the second one committed.
    monkeypatch.setattr(revisions, "set_in_force", lambda _session: first)
    us.write_text(us.read_text().replace("email: 4, sms: 2", "email: 3, sms: 2"))
    with pytest.raises(ConcurrentLoad, match="at the same moment"):
        record_policy_load(session, load_policies(policy_dir), "operator:c")
    assert revisions.newest_set_id(session) == 2


def test_check_accepts_valid_files_and_lists_problems(runner, policy_dir):
    assert runner.invoke(args=["policy", "check", str(policy_dir)]).exit_code == 0
    bad = policy_dir / "eu-gdpr.yaml"
    bad.write_text(bad.read_text().replace("minimum_age: 16", "minimum_age: old"))
    result = runner.invoke(args=["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert "eu-gdpr.yaml:" in result.output and "minimum_age" in result.output
    assert "Traceback" not in result.output


def test_reload_puts_the_files_in_force_or_refuses(app_factory, policy_dir):
    app = app_factory(POLICY_DIR=str(policy_dir))
    with app.app_context():
        runner = app.test_cli_runner()
        result = runner.invoke(args=["policy", "reload", "--actor", "alice", "--reason", "same"])
        assert result.exit_code == 0, result.output
        assert "No change: these files are already in force (set revision 1)" in result.output

        us = policy_dir / "us-can-spam.yaml"
        us.write_text(us.read_text().replace('version: "2026.1"', 'version: "2026.2"'))
        result = runner.invoke(args=["policy", "reload", "--actor", "alice", "--reason", "v2"])
        assert result.exit_code == 0, result.output
        assert "recorded us-can-spam.yaml: " in result.output
        assert "set revision 2, 2 policies (1 changed), loaded by operator:alice" in result.output
        assert policies_in_force().by_id["us-can-spam"].version == "2026.2"

        active = policies_in_force()
        us.write_text("policy_id: [unclosed")
        result = runner.invoke(args=["policy", "reload", "--actor", "alice"])
        assert result.exit_code == 1
        assert "us-can-spam.yaml" in result.output and "the set in force stays" in result.output
        assert refresh_policies() is active


def test_reload_records_the_operator_by_name_never_just_cli(app_factory, policy_dir, monkeypatch):
    from app.extensions import db
    from app.policy_sets.revisions import set_in_force

    app = app_factory(POLICY_DIR=str(policy_dir))
    us = policy_dir / "us-can-spam.yaml"
    us.write_text(us.read_text().replace("email: 5, sms: 2", "email: 4, sms: 2"))
    with app.app_context():
        runner = app.test_cli_runner()
        monkeypatch.setattr(getpass, "getuser", lambda: "ops-maria")
        assert runner.invoke(args=["policy", "reload"]).exit_code == 0
        assert set_in_force(db.session).actor == "operator:ops-maria"

        def nobody() -> str:
            raise OSError("no user name")

        monkeypatch.setattr(getpass, "getuser", nobody)
        result = runner.invoke(args=["policy", "reload"])
        assert result.exit_code == 1 and "--actor NAME" in result.output
        result = runner.invoke(args=["policy", "reload", "--actor", " "])
        assert result.exit_code == 1 and "Traceback" not in result.output


def test_list_shows_the_set_in_force_and_files_that_differ_on_this_machine(
    app_factory, policy_dir, caplog
):
    app = app_factory()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["policy", "list"])
        assert result.exit_code == 0, result.output
        assert "In force: set revision 1" in result.output and "by system" in result.output
        for policy in policies_in_force().policies:
            assert policy.sha256 in result.output and policy.policy_id in result.output
        assert "differ" not in result.output
    us = policy_dir / "us-can-spam.yaml"
    us.write_text(us.read_text().replace("email: 5, sms: 2", "email: 4, sms: 2"))
    other = app_factory(POLICY_DIR=str(policy_dir))  # another machine, same database
    with other.app_context(), caplog.at_level(logging.WARNING, logger="assenso.policy"):
        result = other.test_cli_runner().invoke(args=["policy", "list"])
        assert "In force: set revision 1" in result.output
        assert "differ from the set in force" in result.output
        assert "us-can-spam:" in result.output and "eu-gdpr:" not in result.output
        assert "database wins: run `flask policy reload`" in caplog.text
        assert policies_in_force().by_id["us-can-spam"].settings.max_per_week["email"] == 5


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
