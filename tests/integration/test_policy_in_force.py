"""One truth for every process: a load in one process reaches the next decision of another.

The first process keeps running (no restart); a second process (``flask policy reload``, a
separate Python process on the same database) loads a lower weekly cap. From its next unit of
work (request, campaign run, worker batch) the first process decides with the new set: the
new cap applies and every decision carries the new file's hash.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.campaigns import service
from app.campaigns.models import CampaignDecision
from app.campaigns.run import start_run
from app.decisions.send_check import decide_at_send
from app.delivery.claim import claim_batch
from app.models_base import utcnow
from app.outbox.models import OutboxEntry, SendLog
from app.policy import Intent, load_policies
from app.policy_sets.revisions import set_in_force
from app.transaction import transaction
from tests.integration.policy_files import policy_copy
from tests.integration.test_delivery_helpers import audience, campaign_outbox

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = {"subject": "Hi {{ first_name }}", "body_text": "Dear {{ first_name }}"}
NO_QUIET_HOURS = (
    '    - channels: [email, sms]\n      start: "21:00"',
    '    - channels: [sms]\n      start: "21:00"',
)


def weekly_cap(folder: Path, email: int) -> Path:
    """The shipped policies with e-mail quiet hours off and a weekly e-mail cap of ``email``."""
    return policy_copy(
        folder,
        {
            "eu-gdpr.yaml": [
                NO_QUIET_HOURS,
                ("max_per_week: {email: 3,", f"max_per_week: {{email: {email},"),
            ]
        },
    )


def reload_in_another_process(database_url: str, keystore_url: str, folder: Path) -> str:
    """Run ``flask policy reload`` as a separate process against the same database (and its
    own key store)."""
    env = dict(
        os.environ, ASSENSO_ENV="testing", TEST_DATABASE_URL=database_url,
        TEST_KEYSTORE_URL=keystore_url, ASSENSO_POLICY_DIR=str(folder),
        ASSENSO_DEV_MAILBOX="false",
    )  # fmt: skip
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "policy", "reload",
               "--actor", "ops-alice", "--reason", "lower weekly cap"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_load_in_another_process_reaches_every_decision_without_restart(
    app_factory, database_url, keystore_url, tmp_path
):
    from app.extensions import db

    before, after = weekly_cap(tmp_path / "before", 3), weekly_cap(tmp_path / "after", 1)
    old_hash = load_policies(before).by_id["eu-gdpr"].sha256
    new_hash = load_policies(after).by_id["eu-gdpr"].sha256
    app = app_factory(POLICY_DIR=str(before))
    with app.app_context():
        session = db.session()
        people = [p.id for p in audience(session, 20)]
        with transaction(session):  # one counted e-mail each in the rolling week
            session.add_all(
                SendLog(customer_id=cid, channel="email", purpose="offers",
                        sent_at=utcnow() - timedelta(days=1))
                for cid in people
            )  # fmt: skip
        queued = campaign_outbox(session, people[:5])  # messages waiting for a worker
        sale = service.create_campaign(
            session, actor="marketer", name="Sale", purpose="offers", channel="email",
            templates=[TEMPLATE],
        )  # fmt: skip
        service.schedule_campaign(session, sale.id, actor="marketer")
        intent = Intent("offers", "email", utcnow(), frozenset({"first_name"}))
        first = decide_at_send(session, people[0], intent)
        assert (first.outcome, first.policy_hash) == ("allow", old_hash)
        session.commit()

        output = reload_in_another_process(database_url, keystore_url, after)
        assert "In force for every process: set revision 2" in output

        with app.app_context():  # this process's next request
            decision = decide_at_send(db.session(), people[0], intent)
            assert (decision.outcome, decision.rule_id) == ("defer", "frequency_cap")
            assert decision.policy_hash == new_hash
            revision = set_in_force(db.session())
            assert (revision.actor, revision.reason) == ("operator:ops-alice", "lower weekly cap")

        batch = claim_batch(session, "worker-1", 50, 60, utcnow())  # this process's next batch
        assert batch.ready == [] and batch.deferred == 5
        waiting = session.scalars(select(OutboxEntry).where(OutboxEntry.campaign_id == queued))
        assert {(e.decision_rule, e.policy_hash) for e in waiting} == {("frequency_cap", new_hash)}

        run = start_run(session, sale.id, actor="scheduler")  # this process's next run
        assert (run.allowed, run.deferred) == (0, 20)
        stamped = session.scalars(
            select(CampaignDecision.policy_hash).where(CampaignDecision.run_id == run.id)
        ).all()
        assert set(stamped) == {new_hash} and run.policy_hash == new_hash
        outbox = session.scalars(
            select(OutboxEntry.policy_hash).where(OutboxEntry.run_id == run.id)
        )
        assert set(outbox) == {new_hash}


def test_a_stored_set_that_does_not_match_its_hashes_decides_nothing(app_factory, caplog):
    from app.extensions import db
    from app.policy_sets.models import PolicyRevision

    app = app_factory()
    with app.app_context():
        people = [p.id for p in audience(db.session(), 1)]
    with app.app_context(), transaction(db.session()) as session:
        row = session.scalars(
            select(PolicyRevision).where(PolicyRevision.policy_id == "eu-gdpr")
        ).one()
        row.source_text = row.source_text.replace("minimum_age: 16", "minimum_age: 13")
    restarted = app_factory()  # a process that starts now rebuilds from the stored text
    with restarted.app_context(), caplog.at_level(logging.ERROR, logger="assenso.policy"):
        intent = Intent("offers", "email", utcnow(), frozenset({"first_name"}))
        decision = decide_at_send(db.session(), people[0], intent)
        assert (decision.outcome, decision.rule_id) == ("deny", "policy_error")
        assert "is invalid; nothing is sent" in caplog.text


def test_a_database_out_of_reach_stops_the_start_with_a_message(tmp_path):
    from app import create_app
    from config import ConfigError

    with pytest.raises(ConfigError, match="the database cannot be reached"):
        create_app("testing", DATABASE_URL=f"sqlite:///{tmp_path}/no/such/dir/x.db")
