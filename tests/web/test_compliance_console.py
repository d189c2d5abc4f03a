"""Compliance console: ledger browser, customer lookup, evidence package, integrity, traces.

Every page, filter and export on the test client for the compliance officer; the proofs in an
evidence package verify with the offline receipt verifier; a tampered ledger raises the banner.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select, text

from app.compliance.integrity import wait_for
from app.ledger.models import ConsentEvent, LedgerVerification
from app.ledger.receipt_verify import verify_receipt
from tests.helpers import csrf_token
from tests.integration.builders import grant, make_customer

OFFICER_EMAIL = "officer@staff.example.com"
REASON = "Case DSR-2026-0042: customer asked for proof"


@pytest.fixture
def officer(client, create_staff, login):
    """The test client signed in as a compliance officer."""
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    return client


@pytest.fixture
def people(session):
    """Two customers with consent histories (grant, withdraw, grant by sms)."""
    anna = make_customer(session, email="anna.ledger@example.org")
    bruno = make_customer(session, email="bruno.ledger@example.net")
    grant(session, anna, "offers", "email")
    grant(session, anna, "birthday", "email")
    grant(session, bruno, "offers", "email")
    from app.ledger import consent

    consent.withdraw(session, anna, purpose="birthday", channel="email", source="portal",
                     method="web_form", actor="customer")  # fmt: skip
    return anna, bruno


def test_ledger_lists_events_newest_first_and_filters(officer, people):
    anna, _bruno = people
    page = officer.get("/compliance/ledger").get_data(as_text=True)
    assert anna.ref in page and "withdrawn" in page
    assert f'href="/compliance/customers/{anna.id}"' in page
    only_anna = officer.get("/compliance/ledger?email=anna.ledger@example.org")
    only_anna = only_anna.get_data(as_text=True)
    assert anna.ref in only_anna and people[1].ref not in only_anna
    withdrawn = officer.get("/compliance/ledger?action=withdrawn").get_data(as_text=True)
    assert withdrawn.count("<tr>") == 2  # heading row and the one withdrawal


def test_ledger_keyset_pages(officer, people, session):
    total = session.scalar(select(ConsentEvent.seq).order_by(ConsentEvent.seq.desc()).limit(1)) + 1
    from app.compliance import ledger_search

    flt = ledger_search.parse_filter(session, {})
    first = ledger_search.search_page(session, flt, size=2)
    assert [e.seq for e in first.events] == [total - 1, total - 2] and first.newer is None
    second = ledger_search.search_page(session, flt, before=first.older, size=2)
    assert [e.seq for e in second.events] == [total - 3, total - 4]
    back = ledger_search.search_page(session, flt, after=second.newer, size=2)
    assert [e.seq for e in back.events] == [total - 1, total - 2]
    response = officer.get(f"/compliance/ledger?before={first.older}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query",
    ["purpose=nonsense", "since=2026-13-01", "since=2026-05-02&until=2026-05-01",
     "email=nobody@example.com", "action=deleted", "before=abc"],
)  # fmt: skip
def test_bad_filters_are_clear_400s_that_keep_the_form(officer, people, query):
    response = officer.get(f"/compliance/ledger?{query}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "500" not in str(response.status_code)
    if "before" not in query:
        assert 'class="error"' in body


def test_ledger_exports_csv_and_json(officer, people):
    csv_text = officer.get("/compliance/ledger?format=csv&email=anna.ledger@example.org")
    assert csv_text.status_code == 200 and csv_text.mimetype == "text/csv"
    lines = csv_text.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("Entry,Time (UTC)") and len(lines) == 1 + 3
    doc = officer.get("/compliance/ledger?format=json&purpose=offers").get_json()
    assert doc["table"] == "ledger-events" and len(doc["rows"]) == 2
    assert officer.get("/compliance/ledger?format=xml").status_code == 400


def test_customer_lookup_by_email(officer, people):
    anna, _ = people
    found = officer.get("/compliance/customers?email=ANNA.ledger@example.org")
    assert found.status_code == 302 and found.location.endswith(f"/compliance/customers/{anna.id}")
    missing = officer.get("/compliance/customers?email=nobody@example.org")
    assert missing.status_code == 404 and "No customer" in missing.get_data(as_text=True)
    page = officer.get(f"/compliance/customers/{anna.id}").get_data(as_text=True)
    assert anna.ref in page and "anna.ledger" not in page


def test_evidence_package_needs_a_reason_and_its_proofs_verify_offline(officer, people, session):
    anna, _ = people
    path = f"/compliance/customers/{anna.id}"
    no_reason = officer.post(f"{path}/evidence", data={"csrf_token": csrf_token(officer, path)})
    assert no_reason.status_code == 400 and "reason" in no_reason.get_data(as_text=True)
    response = officer.post(
        f"{path}/evidence", data={"csrf_token": csrf_token(officer, path), "reason": REASON}
    )
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {"README.txt", "report.html", "evidence.json", "public-key.pem"} <= names
    assert "verifier/app/ledger/receipt_verify.py" in names
    receipts = sorted(n for n in names if n.startswith("receipts/"))
    assert len(receipts) == 3
    public_key = archive.read("public-key.pem")
    for name in receipts:
        outcome = verify_receipt(json.loads(archive.read(name)), public_key)
        assert outcome.ok, (name, [c for c in outcome.checks if not c.passed])
    report = archive.read("report.html").decode()
    assert anna.ref in report and "withdrawn" in report and "anna.ledger" not in report
    from app.vault.models import VaultAccess

    logged = session.scalars(select(VaultAccess).where(VaultAccess.customer_ref == anna.ref)).all()
    assert any(entry.reason == REASON for entry in logged)


def test_the_bundled_verifier_runs_on_its_own(officer, people, tmp_path):
    """Unzipped anywhere, the package's verifier checks its receipts with no platform code."""
    import os
    import subprocess
    import sys

    anna, _ = people
    path = f"/compliance/customers/{anna.id}"
    response = officer.post(
        f"{path}/evidence", data={"csrf_token": csrf_token(officer, path), "reason": REASON}
    )
    zipfile.ZipFile(io.BytesIO(response.data)).extractall(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    receipts = sorted((tmp_path / "receipts").iterdir())
    for receipt in receipts:
        run = subprocess.run(
            [sys.executable, "-m", "app.ledger.receipt_verify", str(receipt),
             "--public-key", str(tmp_path / "public-key.pem")],
            cwd=tmp_path / "verifier", env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert run.returncode == 0 and "VALID" in run.stdout, run.stdout + run.stderr
    tampered = json.loads(receipts[0].read_text())
    tampered["record"]["action"] = "withdrawn"
    receipts[0].write_text(json.dumps(tampered))
    run = subprocess.run(
        [sys.executable, "-m", "app.ledger.receipt_verify", str(receipts[0]),
         "--public-key", str(tmp_path / "public-key.pem")],
        cwd=tmp_path / "verifier", env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 1


def test_evidence_report_on_screen(officer, people):
    anna, _ = people
    path = f"/compliance/customers/{anna.id}"
    page = officer.post(
        f"{path}/evidence",
        data={"csrf_token": csrf_token(officer, path), "reason": REASON, "view": "report"},
    )
    assert page.status_code == 200 and "Consent events (3)" in page.get_data(as_text=True)


def test_verification_runs_in_the_background_and_passes(officer, people):
    response = officer.post(
        "/compliance/integrity/verify",
        data={"csrf_token": csrf_token(officer, "/compliance/integrity")},
    )
    assert response.status_code == 303
    run_id = int(response.location.rsplit("/", 1)[1])
    assert wait_for(run_id, 30)
    page = officer.get(f"/compliance/integrity/runs/{run_id}").get_data(as_text=True)
    assert "Passed." in page
    history = officer.get("/compliance/integrity?format=json").get_json()
    assert history["rows"][0]["outcome"] == "passed"
    assert "integrity check failed" not in officer.get("/compliance/").get_data(as_text=True)


def test_a_tampered_ledger_fails_verification_and_raises_the_banner(officer, people, session):
    first = session.scalar(select(ConsentEvent).order_by(ConsentEvent.seq).limit(1))
    _tamper(session, first.seq)
    response = officer.post(
        "/compliance/integrity/verify",
        data={"csrf_token": csrf_token(officer, "/compliance/integrity")},
    )
    run_id = int(response.location.rsplit("/", 1)[1])
    assert wait_for(run_id, 30)
    run = session.get(LedgerVerification, run_id)
    session.refresh(run)
    assert run.ok is False and run.first_bad_seq == first.seq
    for path in ("/compliance/", "/compliance/ledger", "/compliance/integrity"):
        page = officer.get(path).get_data(as_text=True)
        assert "Ledger integrity check failed" in page and f"#{first.seq}" in page


def _tamper(session, seq: int) -> None:
    """Change a ledger row behind the triggers' back (as an attacker with the database would)."""
    engine = session.get_bind()
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER consent_events_no_update"))
            connection.execute(
                text("UPDATE consent_events SET purpose = 'tampered' WHERE seq = :s"), {"s": seq}
            )
        else:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(
                text("UPDATE consent_events SET purpose = 'tampered' WHERE seq = :s"), {"s": seq}
            )


def test_checkpoint_on_demand(officer, people):
    path = "/compliance/integrity"
    response = officer.post(f"{path}/checkpoint", data={"csrf_token": csrf_token(officer, path)},
                            follow_redirects=True)  # fmt: skip
    assert "Signed a checkpoint of 4 entries" in response.get_data(as_text=True)
    again = officer.post(f"{path}/checkpoint", data={"csrf_token": csrf_token(officer, path)},
                         follow_redirects=True)  # fmt: skip
    assert "already covers" in again.get_data(as_text=True)


def test_messages_and_why_a_message_was_sent(officer, people, session):
    from app.models_base import utcnow
    from app.outbox.models import OutboxEntry, SendLog
    from app.transaction import transaction

    anna, _ = people
    with transaction(session):
        entry = OutboxEntry(idempotency_key="trace-1", kind="campaign", customer_id=anna.id,
                            channel="email", purpose="offers", status="sent",
                            decision_rule="allowed", policy_hash="f" * 64,
                            sent_at=utcnow())  # fmt: skip
        session.add(entry)
        session.flush()
        session.add(SendLog(customer_id=anna.id, channel="email", purpose="offers",
                            outbox_id=entry.id, sent_at=entry.sent_at))  # fmt: skip
    listing = officer.get(f"/compliance/customers/{anna.id}/messages").get_data(as_text=True)
    assert f'href="/compliance/messages/{entry.id}"' in listing
    rows = officer.get(f"/compliance/customers/{anna.id}/messages?format=json").get_json()["rows"]
    assert rows[0]["decision_rule"] == "allowed" and rows[0]["policy_hash"] == "f" * 64
    page = officer.get(f"/compliance/messages/{entry.id}").get_data(as_text=True)
    assert "Recorded by the pipeline" in page and "f" * 64 in page
    assert "Rule by rule (recomputed)" in page and "The policy changed since" in page
    assert "granted" in page  # the consent it rests on
    assert officer.get("/compliance/messages/999999").status_code == 404
    path = f"/compliance/customers/{anna.id}"
    archive = zipfile.ZipFile(io.BytesIO(officer.post(
        f"{path}/evidence", data={"csrf_token": csrf_token(officer, path), "reason": REASON}
    ).data))  # fmt: skip
    messages = json.loads(archive.read("messages.json"))
    assert [m["policy_sha256"] for m in messages] == ["f" * 64]
