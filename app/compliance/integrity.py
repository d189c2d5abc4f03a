"""Ledger verification started from the console: runs in the background, reports progress.

A run is a :class:`LedgerVerification` row created when the officer asks for it; a worker
thread recomputes every leaf, the tree and every checkpoint (``app.ledger.verify``), writing
how far it got into the row in short transactions of their own, so the console can show a
progress bar while it runs. Only one run at a time: asking again while one runs returns it.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.ledger.appender import ledger_size
from app.ledger.models import LedgerVerification
from app.ledger.verify import verify_ledger
from app.models_base import utcnow
from app.transaction import transaction

#: A run that has not finished after this long is considered abandoned (process restarted).
STALE_AFTER = timedelta(hours=2)

_threads: dict[int, threading.Thread] = {}
_lock = threading.Lock()


def running_verification(session: Session) -> LedgerVerification | None:
    """The run in progress, if any (abandoned runs do not count)."""
    return session.scalar(
        select(LedgerVerification)
        .where(
            LedgerVerification.finished_at.is_(None),
            LedgerVerification.started_at >= utcnow() - STALE_AFTER,
        )
        .order_by(LedgerVerification.id.desc())
        .limit(1)
    )


def start_verification(app: Flask, session: Session, actor: str) -> LedgerVerification:
    """Start a verification in a background thread, or return the one already running."""
    with _lock:
        current = running_verification(session)
        if current is not None:
            return current
        with transaction(session):
            row = LedgerVerification(actor=actor, tree_size=ledger_size(session), checked=0)
            session.add(row)
        worker = threading.Thread(
            target=_run, args=(app, row.id), name=f"ledger-verify-{row.id}", daemon=True
        )
        _threads[row.id] = worker
        worker.start()
    return row


def wait_for(verification_id: int, timeout: float = 60.0) -> bool:
    """Wait until the run ``verification_id`` started here ends; True when it did."""
    worker = _threads.get(verification_id)
    if worker is None:
        return True
    worker.join(timeout)
    return not worker.is_alive()


def _write(app: Flask, verification_id: int, **values) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            update(LedgerVerification)
            .where(LedgerVerification.id == verification_id)
            .values(**values)
        )


def _run(app: Flask, verification_id: int) -> None:
    def progress(checked: int, total: int) -> None:
        _write(app, verification_id, checked=checked, tree_size=total)

    try:
        with app.app_context():
            result = verify_ledger(db.session(), progress)
            db.session.remove()
        _write(
            app,
            verification_id,
            finished_at=utcnow(),
            ok=result.ok,
            tree_size=result.tree_size,
            checked=result.checked,
            first_bad_seq=result.first_bad_seq,
            message="; ".join(result.problems[:5]) or "all checks passed",
        )
    except Exception as exc:  # the run must end visibly, never hang "in progress"
        app.logger.exception("ledger verification %s failed to run", verification_id)
        _write(
            app,
            verification_id,
            finished_at=utcnow(),
            ok=False,
            message=f"The verification could not run to the end ({type(exc).__name__}).",
        )
    finally:
        with _lock:
            _threads.pop(verification_id, None)


def verification_history(session: Session, limit: int = 200) -> list[LedgerVerification]:
    """The latest verifications, newest first."""
    return list(
        session.scalars(
            select(LedgerVerification).order_by(LedgerVerification.id.desc()).limit(limit)
        )
    )
