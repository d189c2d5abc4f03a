"""Vault services: purpose-bound reads, rectification, rotation, erasure by crypto-shredding."""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, InvalidInput
from app.extensions import db
from app.self_service.export import export_customer
from app.vault import rotation, service
from app.vault.envelope import FieldCipher, WrappedKey
from app.vault.erasure import erase_customer
from app.vault.errors import VaultError
from app.vault.keystore import wrapped_keys
from app.vault.models import CustomerKey, Erasure, ProfileField, ProfileFieldHistory, VaultAccess
from tests.integration.builders import PROFILE, grant, make_customer


def test_a_field_is_read_only_for_a_purpose_it_is_shared_for(session):
    customer = make_customer(session)
    service.set_sharing(session, customer, {("first_name", "offers"): True})
    values = service.read_fields(
        session, customer, purpose="offers", fields=["first_name"], actor="campaign:1"
    )
    assert values == {"first_name": PROFILE["first_name"]}
    with pytest.raises(service.FieldNotShared, match="birthday"):
        service.read_fields(session, customer, purpose="offers", fields=["birthday"], actor="x")
    with pytest.raises(service.FieldNotShared):
        service.read_fields(session, customer, purpose="birthday", fields=["first_name"], actor="x")
    log = session.scalars(select(VaultAccess)).all()
    assert [(entry.actor, entry.fields, entry.customer_count) for entry in log] == [
        ("campaign:1", "first_name", 1)
    ]


def test_withdrawn_sharing_is_refused_at_once(session):
    customer = make_customer(session)
    service.set_sharing(session, customer, {("city", "offers"): True})
    service.set_sharing(session, customer, {("city", "offers"): False})
    with pytest.raises(service.FieldNotShared):
        service.read_fields(session, customer, purpose="offers", fields=["city"], actor="x")


def test_unknown_purpose_or_field_is_a_clear_error(session):
    customer = make_customer(session)
    with pytest.raises(InvalidInput, match="unknown purpose"):
        service.set_sharing(session, customer, {("city", "gossip"): True})
    with pytest.raises(InvalidInput, match="unknown profile field"):
        service.set_sharing(session, customer, {("shoe_size", "offers"): True})


def test_one_account_per_address_whatever_the_spelling(session):
    make_customer(session, email="Dup.Licate@Example.org")
    with pytest.raises(Conflict):
        make_customer(session, email="  dup.licate@example.ORG ")


def test_invalid_profile_values_are_refused_without_echoing_them(session):
    with pytest.raises(InvalidInput) as caught:
        make_customer(session, profile={"phone": "call me maybe 12"})
    assert "call me maybe" not in str(caught.value)
    assert "phone" in str(caught.value)


def test_malformed_jurisdiction_time_zone_or_language_is_refused_and_writes_nothing(session):
    cases = [
        ({"jurisdiction": "Italy"}, "Jurisdiction"),
        ({"jurisdiction": ""}, "Jurisdiction"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"language": "tlh"}, "language"),
    ]
    for settings, named in cases:
        with pytest.raises(InvalidInput, match=f"(?i){named}"):
            make_customer(session, email="settings@example.org", **settings)
    assert session.scalar(select(func.count()).select_from(ProfileField)) == 0
    customer = make_customer(session, email="settings@example.org", jurisdiction=" it ")
    assert customer.jurisdiction == "IT"


def test_rectification_keeps_the_previous_value_encrypted(session):
    customer = make_customer(session)
    service.update_field(session, customer, "city", "Brescia", actor="customer")
    assert service.read_own_profile(session, customer)["city"] == "Brescia"
    history = session.scalars(select(ProfileFieldHistory)).all()
    assert len(history) == 1
    assert b"Bergamo" not in history[0].ciphertext
    exported = export_customer(session, customer)
    assert exported["profile_history"][0]["previous_value"] == "Bergamo"


def test_staff_must_give_a_reason_to_rectify(session):
    customer = make_customer(session)
    with pytest.raises(InvalidInput, match="reason"):
        service.update_field(session, customer, "city", "Como", actor="staff@example.com")
    service.update_field(
        session, customer, "city", "Como", actor="staff@example.com", reason="ticket 42"
    )


def test_key_rotation_rewraps_data_keys_and_keeps_fields_readable(app_factory):
    from config import generate_secrets

    ring_v1 = generate_secrets()["ASSENSO_VAULT_KEYS"]
    first = app_factory(VAULT_KEYS=ring_v1)
    with first.app_context():
        customer = make_customer(db.session)
        customer_id = customer.id
        before = db.session.scalar(
            select(ProfileField.ciphertext).where(ProfileField.field == "city")
        )
    key_v2 = generate_secrets()["ASSENSO_VAULT_KEYS"].replace("1:", "2:", 1)
    second = app_factory(VAULT_KEYS=f"{ring_v1},{key_v2}")
    with second.app_context():
        assert rotation.vault_status(db.session).keys_per_kek_version == {1: 1}
        assert rotation.rotate_kek(db.session, batch_size=1) == 1
        assert rotation.rotate_kek(db.session) == 0  # resumable: nothing left to do
        assert rotation.vault_status(db.session).keys_per_kek_version == {2: 1}
        after = db.session.scalar(
            select(ProfileField.ciphertext).where(ProfileField.field == "city")
        )
        assert after == before  # profile ciphertexts untouched
    retired = app_factory(VAULT_KEYS=key_v2)
    with retired.app_context():
        customer = db.session.get(service.Customer, customer_id)
        assert service.read_own_profile(db.session, customer)["city"] == PROFILE["city"]


def test_blind_index_rotation_reindexes_and_sign_in_still_finds_the_customer(app_factory):
    from app.vault.directory import find_customer_by_email
    from config import generate_secrets

    ring_v1 = generate_secrets()["ASSENSO_BLIND_INDEX_KEYS"]
    vault_keys = generate_secrets()["ASSENSO_VAULT_KEYS"]
    first = app_factory(BLIND_INDEX_KEYS=ring_v1, VAULT_KEYS=vault_keys)
    with first.app_context():
        make_customer(db.session, email="rotate.me@example.net")
    key_v2 = generate_secrets()["ASSENSO_BLIND_INDEX_KEYS"].replace("1:", "2:", 1)
    second = app_factory(BLIND_INDEX_KEYS=f"{ring_v1},{key_v2}", VAULT_KEYS=vault_keys)
    with second.app_context():
        assert find_customer_by_email(db.session, "rotate.me@example.net") is not None
        assert rotation.reindex_emails(db.session) == 1
        assert rotation.vault_status(db.session).indexes_per_version == {2: 1}
    third = app_factory(BLIND_INDEX_KEYS=key_v2, VAULT_KEYS=vault_keys)
    with third.app_context():
        assert find_customer_by_email(db.session, "ROTATE.me@example.net") is not None


def test_erasure_shreds_the_key_and_the_ciphertexts_in_one_go(session):
    customer = make_customer(session)
    grant(session, customer, evidence=None)
    erase_customer(session, customer, actor="customer", reason="asked in the portal")
    assert session.get(CustomerKey, customer.id) is None
    assert session.scalar(select(func.count()).select_from(ProfileField)) == 0
    assert customer.email_index is None and customer.erased_at is not None
    assert session.scalar(select(Erasure.customer_ref)) == customer.ref
    with pytest.raises(service.CustomerErased):
        service.read_own_profile(session, customer)
    from app.ledger.verify import verify_ledger

    assert verify_ledger(session).ok  # the ledger's proofs survive the erasure


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_a_copy_taken_before_erasure_cannot_be_decrypted_afterwards(
    app, session, database_url, tmp_path
):
    from app.ledger.consent import Evidence

    customer = make_customer(session)
    grant(session, customer, evidence=Evidence("203.0.113.9", "Browser/1.0"))
    ref, customer_id = customer.ref, customer.id
    session.commit()
    db.engine.dispose()
    copy = tmp_path / "backup-before-erasure.sqlite3"
    shutil.copyfile(database_url.removeprefix("sqlite:///"), copy)
    erase_customer(session, customer, actor="customer", reason="erasure request")

    with sqlite3.connect(copy) as backup:
        blobs = backup.execute(
            "SELECT field, ciphertext FROM profile_fields WHERE customer_id = ?", (customer_id,)
        ).fetchall()
        evidence = backup.execute("SELECT evidence FROM consent_events").fetchone()[0]
        tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master")}
    assert len(blobs) == len(PROFILE) + 1 and evidence
    assert "customer_keys" not in tables  # the backup never held any key
    live = wrapped_keys(session, [customer_id])
    assert live == {}  # and the live key store no longer has theirs
    other = make_customer(session)
    other_key = wrapped_keys(session, [other.id])[other.id]
    keyring = app.extensions["assenso"].vault_keys
    for wrapped in [other_key]:
        with pytest.raises(VaultError):
            FieldCipher.open(keyring, ref, WrappedKey(wrapped.kek_version, wrapped.blob))


def test_demo_data_holds_no_plaintext_personal_data(
    app, session, engine_name, database_url, keystore_url, tmp_path
):
    from app.demo.people import demo_people
    from app.demo.seed import seed_demo

    seed_demo(session, customers=12)
    session.commit()
    secrets = set()
    for person in demo_people(12):
        secrets |= {person.email, person.profile["first_name"] + " ", person.profile["last_name"]}
        if "phone" in person.profile:
            secrets.add(person.profile["phone"])
    for engine in db.engines.values():
        engine.dispose()
    dumps = [_file_bytes(keystore_url)]
    if engine_name == "sqlite":
        dumps.append(_file_bytes(database_url))
    else:
        dumps.append(_pg_dump(database_url))
    for blob in dumps:
        text = blob.decode("utf-8", "replace")
        found = sorted(s for s in secrets if s.strip() and s in text)
        assert found == [], f"plaintext personal data at rest: {found[:3]}"
        assert base64.b64encode(b"anna.demo@example.org").decode() not in text


def _file_bytes(url: str) -> bytes:
    path = url.removeprefix("sqlite:///")
    data = b""
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as handle:
                data += handle.read()
    return data


def _pg_dump(url: str) -> bytes:
    import subprocess

    from sqlalchemy.engine import make_url

    parts = make_url(url)
    result = subprocess.run(
        [
            "pg_dump",
            "-h",
            parts.host or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            parts.database,
        ],
        capture_output=True,
        check=True,
    )
    return result.stdout
