"""The evidence package's bundled verifier checks every file, event, message and policy text.

Receipts alone were tamper-evident; an event, a message or a policy changed in ``evidence.json``
(from which ``report.html`` is built) or in its split files must fail, naming file and entry.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from app.ledger.package_verify import PackageUnreadable, verify_package
from app.models_base import utcnow
from app.outbox.models import OutboxEntry, SendLog
from app.policy_sets.models import PolicyRevision
from app.transaction import transaction
from tests.helpers import csrf_token
from tests.integration.builders import grant, make_customer

OFFICER_EMAIL = "officer@staff.example.com"
REASON = "Case DPA-2026-0099: proof of every message"
POLICY_TEXT = "policy_id: test-eu\nversion: 3\n"


@pytest.fixture
def package_dir(client, create_staff, login, session, tmp_path):
    """An unzipped evidence package of a customer with two consent events and one message."""
    create_staff("compliance_officer", OFFICER_EMAIL)
    login(OFFICER_EMAIL)
    flavia = make_customer(session, email="flavia.package@example.org")
    grant(session, flavia, "offers", "email")
    grant(session, flavia, "birthday", "email")
    policy_hash = hashlib.sha256(POLICY_TEXT.encode()).hexdigest()
    with transaction(session):
        session.add(PolicyRevision(policy_id="test-eu", filename="test-eu.yaml",
                                   sha256=policy_hash, source_text=POLICY_TEXT,
                                   actor="test"))  # fmt: skip
        entry = OutboxEntry(idempotency_key="package-1", customer_id=flavia.id, channel="email",
                            purpose="offers", status="sent", decision_rule="allowed",
                            policy_hash=policy_hash, sent_at=utcnow())  # fmt: skip
        session.add(entry)
        session.flush()
        session.add(SendLog(customer_id=flavia.id, channel="email", purpose="offers",
                            outbox_id=entry.id, sent_at=entry.sent_at))  # fmt: skip
    path = f"/compliance/customers/{flavia.id}"
    response = client.post(
        f"{path}/evidence", data={"csrf_token": csrf_token(client, path), "reason": REASON}
    )
    zipfile.ZipFile(io.BytesIO(response.data)).extractall(tmp_path)
    return tmp_path


def _edit(path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


def _failed(root) -> list[tuple[str, str]]:
    return [(f.file, f.entry) for f in verify_package(root).failures]


def test_an_untouched_package_verifies_file_by_file(package_dir):
    outcome = verify_package(package_dir)
    assert outcome.ok, [f.line() for f in outcome.failures]
    files = {f.file for f in outcome.findings}
    assert {"manifest.sig", "report.html", "evidence.json", "messages.json"} <= files
    entries = [f.entry for f in outcome.findings if f.file == "evidence.json"]
    assert any(e.startswith("messages[0] (message ") for e in entries)
    assert any(e.startswith("policies[0]") for e in entries)
    assert sum(e.startswith("consent_receipts[") for e in entries) == 2


def test_an_event_changed_in_evidence_json_fails_and_is_named(package_dir):
    def change(doc):
        doc["consent_receipts"][1]["record"]["action"] = "withdrawn"

    _edit(package_dir / "evidence.json", change)
    failed = _failed(package_dir)
    assert ("evidence.json", "") in failed  # the file differs from the signed manifest
    assert any(f == "evidence.json" and e.startswith("consent_receipts[1]") for f, e in failed)
    assert not any(e.startswith("consent_receipts[0]") for _f, e in failed)


def test_a_changed_message_or_policy_text_fails_and_is_named(package_dir):
    def message(doc):
        doc[0]["decision_rule"] = "soft_opt_in"

    def policy(doc):
        doc[0]["text"] = POLICY_TEXT.replace("3", "4")

    _edit(package_dir / "messages.json", message)
    _edit(package_dir / "policies.json", policy)
    failed = _failed(package_dir)
    assert any(f == "messages.json" and e.startswith("[0] (message ") for f, e in failed)
    assert ("policies.json", "[0] (test-eu.yaml)") in failed
    assert not any(f == "evidence.json" for f, _e in failed)


def test_the_report_and_the_manifest_are_covered_too(package_dir):
    report = package_dir / "report.html"
    report.write_text(report.read_text().replace("granted", "refused"))
    assert ("report.html", "") in _failed(package_dir)

    def forge(doc):
        doc["files"]["report.html"] = hashlib.sha256(report.read_bytes()).hexdigest()

    _edit(package_dir / "manifest.json", forge)
    failed = _failed(package_dir)
    assert ("manifest.sig", "") in failed and ("report.html", "") not in failed


def test_a_foreign_receipt_slipped_in_fails(package_dir):
    receipts = sorted((package_dir / "receipts").iterdir())
    (package_dir / "receipts" / "99999999-extra.json").write_text(receipts[0].read_text())
    assert ("receipts/99999999-extra.json", "") in _failed(package_dir)
    (package_dir / "manifest.sig").unlink()
    with pytest.raises(PackageUnreadable):
        verify_package(package_dir)


def test_the_bundled_package_verifier_runs_on_its_own(package_dir):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run():
        return subprocess.run(
            [sys.executable, "-m", "app.ledger.package_verify", ".."],
            cwd=package_dir / "verifier", env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip

    valid = run()
    assert valid.returncode == 0 and "VALID: all" in valid.stdout, valid.stdout + valid.stderr

    def change(doc):
        doc["messages"][0]["purpose"] = "birthday"

    _edit(package_dir / "evidence.json", change)
    invalid = run()
    assert invalid.returncode == 1
    assert "FAIL  evidence.json messages[0] (message " in invalid.stdout
    assert "differs from the signed manifest" in invalid.stdout
