"""Consent ledger: state projection, double opt-in, expiry, receipts, tamper detection."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.errors import InvalidInput
from app.extensions import db
from app.ledger import consent, proofs, state, verify
from app.ledger.models import ConsentEvent, ConsentState
from app.ledger.receipt_verify import verify_receipt
from app.models_base import utcnow
from tests.integration.builders import ensure_notice, grant, make_customer


def _state(session, customer, purpose="offers", channel="email"):
    return session.get(ConsentState, (customer.id, purpose, channel))


def test_grant_and_withdraw_update_the_projection_in_the_same_transaction(session):
    customer = make_customer(session)
    grant(session, customer)
    assert _state(session, customer).status == "granted"
    consent.withdraw(
        session,
        customer,
        purpose="offers",
        channel="email",
        source="portal",
        method="web_form",
        actor="customer",
    )
    assert _state(session, customer).status == "withdrawn"
    report = state.rebuild_state(session, fix=False)
    assert report.differences == [] and report.events == 2


def test_rebuild_state_reports_and_repairs_a_drifted_projection(session):
    customer = make_customer(session)
    grant(session, customer)
    row = _state(session, customer)
    row.status = "withdrawn"
    session.commit()
    report = state.rebuild_state(session)
    assert len(report.differences) == 1 and "granted" in report.differences[0]
    assert _state(session, customer).status == "granted"


def test_email_consent_takes_effect_only_after_double_opt_in(session):
    customer = make_customer(session)
    _, token = grant(session, customer, skip_doi=False)
    assert token and _state(session, customer).status == "pending"
    consent.confirm_double_opt_in(session, token)
    current = _state(session, customer)
    assert current.status == "granted" and current.confirmed
    with pytest.raises(InvalidInput, match="already confirmed"):
        consent.confirm_double_opt_in(session, token)
    with pytest.raises(InvalidInput, match="not valid"):
        consent.confirm_double_opt_in(session, token[:-3] + "abc")


def test_double_opt_in_links_are_compact_and_bound_to_their_use(app, session):
    customer = make_customer(session)
    _, token = grant(session, customer, skip_doi=False)
    assert token.isascii() and len(token) < 128
    from app.delivery.tokens import InvalidUnsubscribeToken, read_unsubscribe_token

    # Signed under the same secret for another use: an opt-in link is no unsubscribe link.
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(token)
    signature = token.partition(".")[2]
    with pytest.raises(InvalidInput, match="not valid"):
        consent.confirm_double_opt_in(session, "e30." + signature)


def test_double_opt_in_links_expire(session, monkeypatch):
    import time

    customer = make_customer(session)
    _, token = grant(session, customer, skip_doi=False)
    later = time.time() + consent.DOUBLE_OPT_IN_HOURS * 3600 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidInput, match="expired"):
        consent.confirm_double_opt_in(session, token)


def test_unconfirmed_opt_in_and_old_consent_expire_as_events(session):
    customer = make_customer(session)
    grant(session, customer, purpose="offers", channel="sms")
    grant(session, customer, purpose="surveys", channel="email", skip_doi=False)
    later = utcnow() + timedelta(days=5 * 365)
    assert consent.expire_due(session, later) == 2
    assert _state(session, customer, "offers", "sms").status == "expired"
    assert _state(session, customer, "surveys", "email").status == "none"
    actions = session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.seq)).all()
    assert sorted(actions[-2:]) == ["cancelled", "expired"]


def test_objection_is_recorded_and_a_later_explicit_consent_lifts_it(session):
    customer = make_customer(session)
    consent.object_to_direct_marketing(
        session, customer, source="portal", method="web_form", actor="customer"
    )
    assert customer.objected_at is not None
    grant(session, customer)
    assert customer.objected_at is None


def test_staff_on_behalf_needs_a_reason(session):
    customer = make_customer(session)
    with pytest.raises(InvalidInput, match="reason"):
        consent.withdraw(
            session,
            customer,
            purpose="offers",
            channel="email",
            source="staff",
            method="staff",
            actor="officer@example.com",
        )


def test_receipt_verifies_offline_with_the_public_key(app, session, tmp_path):
    customer = make_customer(session)
    event, _ = grant(session, customer)
    receipt = proofs.receipt_for(session, event.record_id, customer.ref)
    public_key = app.extensions["assenso"].signing_key.public_key()
    assert verify_receipt(receipt, public_key).ok
    receipt["record"]["purpose"] = "partners"
    assert not verify_receipt(receipt, public_key).ok

    good = proofs.receipt_for(session, event.record_id)
    (tmp_path / "receipt.json").write_text(json.dumps(good))
    (tmp_path / "key.pem").write_text(proofs.public_checkpoint(session)["public_key_pem"])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.ledger.receipt_verify",
            str(tmp_path / "receipt.json"),
            "--public-key",
            str(tmp_path / "key.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_someone_elses_receipt_is_not_found(session):
    first, second = make_customer(session), make_customer(session)
    event, _ = grant(session, first)
    with pytest.raises(Exception, match="No such consent record"):
        proofs.receipt_for(session, event.record_id, second.ref)


def _ledger_with_checkpoint(session, count=6):
    customer = make_customer(session)
    ensure_notice(session, "offers")
    for index in range(count):
        action = consent.withdraw if index % 2 else None
        if action:
            action(
                session,
                customer,
                purpose="offers",
                channel="email",
                source="portal",
                method="web_form",
                actor="customer",
            )
        else:
            grant(session, customer)
    proofs.make_checkpoint(session)
    assert verify.verify_ledger(session).ok
    return customer


def _unguarded(session, statement: str, **params) -> None:
    """Run ``statement`` bypassing the append-only triggers, as an attacker with DBA rights."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for part in statement.split("; "):
            connection.execute(text(part), params)
    else:
        triggers = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type='trigger'")
        ).all()
        for name, _ in triggers:
            connection.execute(text(f'DROP TRIGGER "{name}"'))
        for part in statement.split("; "):
            connection.execute(text(part), params)
        for _, sql in triggers:
            connection.execute(text(sql))
    session.commit()


@pytest.mark.parametrize(
    ("statement", "bad_seq"),
    [
        ("UPDATE consent_events SET purpose = 'partners' WHERE seq = 3", 3),
        ("DELETE FROM consent_events WHERE seq = 2", 2),
        (
            "UPDATE consent_events SET seq = 1001 WHERE seq = 1; "
            "UPDATE consent_events SET seq = 1 WHERE seq = 4; "
            "UPDATE consent_events SET seq = 4 WHERE seq = 1001",
            1,
        ),
    ],
    ids=["altered", "deleted", "reordered"],
)
def test_verification_names_the_first_bad_entry(session, statement, bad_seq):
    _ledger_with_checkpoint(session)
    _unguarded(session, statement)
    result = verify.verify_ledger(session)
    assert not result.ok
    assert result.first_bad_seq == bad_seq, result.problems


def test_an_event_inserted_out_of_band_is_detected(session):
    _ledger_with_checkpoint(session)
    row = (
        session.execute(select(ConsentEvent.__table__).where(ConsentEvent.seq == 5))
        .mappings()
        .one()
    )
    forged = {**row, "seq": 6, "record_id": "00000000-0000-4000-8000-000000000006"}
    columns = ", ".join(forged)
    values = ", ".join(f":{name}" for name in forged)
    _unguarded(session, f"INSERT INTO consent_events ({columns}) VALUES ({values})", **forged)
    result = verify.verify_ledger(session)
    assert not result.ok and result.first_bad_seq == 6


def test_verification_leaves_the_connection_settings_as_they_were(session):
    _ledger_with_checkpoint(session)
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        pytest.skip("the page cache setting is SQLite's")
    settings = ("PRAGMA cache_size", "PRAGMA mmap_size")
    before = [connection.exec_driver_sql(read).scalar() for read in settings]
    assert verify.verify_ledger(session).ok
    assert [connection.exec_driver_sql(read).scalar() for read in settings] == before


def test_verify_command_exits_non_zero_and_names_the_entry(session, runner):
    _ledger_with_checkpoint(session)
    ok = runner.invoke(args=["ledger", "verify", "--quiet"])
    assert ok.exit_code == 0 and "OK" in ok.output
    _unguarded(session, "UPDATE consent_events SET actor = 'mallory' WHERE seq = 0")
    bad = runner.invoke(args=["ledger", "verify", "--quiet"])
    assert bad.exit_code == 1
    assert "seq 0" in bad.output


def test_public_checkpoint_and_key_are_served(client, session):
    _ledger_with_checkpoint(session)
    body = client.get("/ledger/checkpoint").get_json()
    assert body["checkpoint"]["tree_size"] == 6
    pem = client.get("/ledger/public-key.pem")
    assert pem.status_code == 200 and b"BEGIN PUBLIC KEY" in pem.data


def test_consistency_between_checkpoints_is_proven(session):
    from app.ledger.merkle import verify_consistency

    _ledger_with_checkpoint(session, count=3)
    first = proofs.latest_checkpoint(session)
    _ledger_with_checkpoint(session, count=4)
    second = proofs.latest_checkpoint(session)
    proof = proofs.consistency_proof(session, first.tree_size, second.tree_size)
    assert verify_consistency(
        first.tree_size, second.tree_size, first.root_hash, second.root_hash, proof
    )
    assert db.session is not None


@pytest.mark.parametrize(
    ("statement", "bad_seq"),
    [
        ("UPDATE consent_events SET event_time = 'yesterday' WHERE seq = 2", 2),
        ("UPDATE consent_events SET evidence = 42 WHERE seq = 1", 1),
        ("UPDATE consent_events SET evidence = X'00' WHERE seq = 3", 3),
    ],
    ids=["unreadable-time", "number-as-evidence", "evidence-added"],
)
def test_values_changed_in_shape_only_are_detected_on_sqlite(session, statement, bad_seq):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's loose column types allow these; PostgreSQL refuses them")
    _ledger_with_checkpoint(session)
    _unguarded(session, statement)
    result = verify.verify_ledger(session)
    assert not result.ok
    assert result.first_bad_seq == bad_seq, result.problems
