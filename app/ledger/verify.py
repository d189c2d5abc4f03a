"""The ledger verifier: recompute everything from the rows and check every checkpoint.

It streams the events in order (flat memory), rebuilding each leaf from its columns, and
names the first bad entry when a row was altered, deleted, reordered or inserted out of band.
It also checks every checkpoint's signature, that each checkpoint's root equals the root
recomputed from the rows at that size, and that the stored tree nodes give the same roots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ledger.appender import ledger_size
from app.ledger.canonical import canonical_bytes
from app.ledger.checkpoint import verify_checkpoint
from app.ledger.merkle import EMPTY_ROOT, Frontier, leaf_hash, verify_consistency
from app.ledger.models import Checkpoint, LedgerVerification
from app.ledger.proofs import consistency_proof, root_at, signed
from app.ledger.records import RECORD_COLUMNS, record_from_values
from app.models_base import utcnow
from app.runtime import runtime
from app.transaction import transaction

Progress = Callable[[int, int], None]


@dataclass
class VerificationResult:
    """The verifier's findings; ``ok`` only when nothing at all was wrong."""

    tree_size: int = 0
    checked: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def fail(self, message: str, seq: int | None = None) -> None:
        """Record a problem; the first one with a position names the first bad entry."""
        self.problems.append(message)
        if seq is not None and self.first_bad_seq is None:
            self.first_bad_seq = seq


#: SQLite page cache (KiB) while verifying: two ordered scans gain nothing from the
#: connection's large cache, and filling it would make the verifier's memory grow with the
#: ledger up to the cache's size (64 MiB).
VERIFY_CACHE_KIB = 2048
VERIFY_SETTINGS = {"cache_size": -VERIFY_CACHE_KIB, "mmap_size": 0}

_EVENTS_SQL = "SELECT " + ", ".join(RECORD_COLUMNS) + ", leaf_hash FROM consent_events ORDER BY seq"
_LEAVES_SQL = "SELECT idx, hash FROM merkle_nodes WHERE level = 0 ORDER BY idx"
_NO_MORE = (float("inf"), None)


def _dbapi_connection(session: Session) -> Any:
    """The driver's connection under the session's transaction (psycopg or sqlite3)."""
    dbapi = session.connection().connection.dbapi_connection
    if dbapi is None:  # only after the pooled connection was invalidated
        raise RuntimeError("the session's connection is closed")
    return dbapi


def _cursor(session: Session, name: str) -> Any:
    """A DBAPI cursor in the session's transaction; server-side on PostgreSQL (flat memory)."""
    dbapi = _dbapi_connection(session)
    if session.get_bind().dialect.name == "postgresql":
        return dbapi.cursor(name=f"assenso_verify_{name}")
    return dbapi.cursor()  # SQLite steps through the table as rows are fetched


def _batches(cursor, sql: str, batch: int) -> Iterator[list[tuple]]:
    """Rows as the driver returns them, ``batch`` at a time (SQLAlchemy's per-row processing
    would cost more than recomputing the row's leaf)."""
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()  # also when we stop early


def _stored_leaves(session: Session, batch: int) -> Iterator[tuple]:
    """The stored level-0 tree nodes in index order, then an endless end marker.

    Read side by side with the events (a merge of two ordered scans), which costs a fraction
    of joining each event to its node.
    """
    for rows in _batches(_cursor(session, "leaves"), _LEAVES_SQL, batch):
        yield from rows
    while True:
        yield _NO_MORE


def _stored_time(value: Any) -> datetime | None:
    """A timestamp as the driver returns it (SQLite: naive UTC text) as an aware datetime."""
    if type(value) is str:
        return datetime.fromisoformat(value + "+00:00")
    if value is None or (type(value) is datetime and value.tzinfo is not None):
        return value
    raise TypeError("not a timestamp")


def _leaf_of_row(row: Sequence[Any]) -> bytes:
    """The leaf hash of an event row as the driver returns it (columns in
    :data:`RECORD_COLUMNS` order); ``TypeError``/``ValueError`` when a value cannot be read."""
    evidence = row[_EVIDENCE]
    if isinstance(evidence, memoryview | bytearray):
        evidence = bytes(evidence)  # a driver's buffer
    values = [
        *row[:_EVENT_TIME],
        _stored_time(row[_EVENT_TIME]),
        _stored_time(row[_EXPIRES_AT]),
        evidence,
    ]
    record = record_from_values(*values)
    return leaf_hash(canonical_bytes(record))


# The record's last three columns: the two timestamps and the evidence.
_EVENT_TIME, _EXPIRES_AT, _EVIDENCE = (
    RECORD_COLUMNS.index(name) for name in ("event_time", "expires_at", "evidence")
)
assert _EVIDENCE == len(RECORD_COLUMNS) - 1 == _EXPIRES_AT + 1 == _EVENT_TIME + 2
_WIDTH = len(RECORD_COLUMNS)


def _check_rows(session: Session, result: VerificationResult, checkpoints, progress, batch):
    pending = [cp.tree_size for cp in checkpoints]  # sizes, compared per row
    checkpoints = list(checkpoints)
    frontier = Frontier()
    leaves = _stored_leaves(session, batch)
    node_idx, node = next(leaves)
    for rows in _batches(_cursor(session, "events"), _EVENTS_SQL, batch):
        for row in rows:
            seq, stored_leaf, expected = row[0], row[_WIDTH], frontier.size
            while node_idx < seq:  # a leaf node without its event: caught by the sizes
                node_idx, node = next(leaves)
            if seq != expected:
                what = "missing or deleted" if seq > expected else "duplicated or reordered"
                result.fail(f"entry {expected}: {what} (next row has seq {seq})", expected)
                return
            try:
                digest = _leaf_of_row(row)
            except (TypeError, ValueError, OverflowError):
                result.fail(f"entry {seq}: a column cannot be read as a record value", seq)
                return
            if digest != stored_leaf:
                result.fail(f"entry {seq} ({row[1]}): content altered since it was appended", seq)
            elif node_idx != seq or node != digest:
                result.fail(
                    f"entry {seq}: tree node missing or altered (inserted out of band?)", seq
                )
            frontier.append(digest)
            while pending and pending[0] == frontier.size:
                pending.pop(0)
                _check_root(result, checkpoints.pop(0), frontier.root(), frontier.size)
        result.checked = frontier.size
        if progress:
            progress(frontier.size, result.tree_size)
    _check_end(result, checkpoints, frontier.size)


def _check_end(result: VerificationResult, checkpoints: list[Checkpoint], rows: int) -> None:
    """The rows must reach the ledger head, and no checkpoint may claim more rows."""
    if rows != result.tree_size:
        result.fail(
            f"entry {rows}: ledger head says {result.tree_size} events, rows end at {rows}", rows
        )
    for cp in checkpoints:
        if cp.tree_size == 0:
            _check_root(result, cp, EMPTY_ROOT, 0)
        else:
            result.fail(f"checkpoint #{cp.id} claims {cp.tree_size} events; only {rows} rows exist")


def _check_root(result: VerificationResult, cp: Checkpoint, root: bytes, size: int) -> None:
    if cp.root_hash != root:
        result.fail(
            f"checkpoint #{cp.id} (size {size}) root differs from the rows: "
            f"an entry before {size} was changed",
            max(size - 1, 0),
        )


def _check_checkpoints(session: Session, result: VerificationResult, checkpoints) -> None:
    public_key = runtime().signing_key.public_key()
    previous = None
    for cp in checkpoints:
        if not verify_checkpoint(public_key, signed(cp)):
            result.fail(f"checkpoint #{cp.id}: signature does not verify")
        if cp.tree_size <= result.tree_size and root_at(session, cp.tree_size) != cp.root_hash:
            result.fail(f"checkpoint #{cp.id}: stored tree nodes give a different root")
        if previous is not None and previous.tree_size <= cp.tree_size <= result.tree_size:
            proof = consistency_proof(session, previous.tree_size, cp.tree_size)
            if not verify_consistency(
                previous.tree_size, cp.tree_size, previous.root_hash, cp.root_hash, proof
            ):
                result.fail(
                    f"checkpoints #{previous.id} → #{cp.id}: not consistent (history rewritten)"
                )
        previous = cp


@contextmanager
def _small_page_cache(session: Session) -> Iterator[None]:
    """On SQLite, the connection's page cache is :data:`VERIFY_CACHE_KIB` and nothing is
    memory-mapped while verifying (flat memory whatever the ledger's size: a mapped page read
    once stays counted in the process's resident size); both settings are restored after."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    dbapi = _dbapi_connection(session)
    before = {name: dbapi.execute(f"PRAGMA {name}").fetchone()[0] for name in VERIFY_SETTINGS}
    for name, value in VERIFY_SETTINGS.items():
        dbapi.execute(f"PRAGMA {name}={value}")
    try:
        yield
    finally:
        for name, value in before.items():
            dbapi.execute(f"PRAGMA {name}={int(value)}")


def verify_ledger(
    session: Session, progress: Progress | None = None, batch: int = 10_000
) -> VerificationResult:
    """Verify the whole ledger; never raises on tampering, reports it."""
    result = VerificationResult(tree_size=ledger_size(session))
    checkpoints = list(
        session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size, Checkpoint.id))
    )
    result.checkpoints = len(checkpoints)
    with _small_page_cache(session):
        _check_rows(session, result, checkpoints, progress, batch)
        _check_checkpoints(session, result, checkpoints)
    return result


def record_verification(
    session: Session, result: VerificationResult, actor: str
) -> LedgerVerification:
    """Store the outcome so the console can show the history (and a banner on failure)."""
    with transaction(session):
        row = LedgerVerification(
            finished_at=utcnow(),
            ok=result.ok,
            tree_size=result.tree_size,
            checked=result.checked,
            first_bad_seq=result.first_bad_seq,
            message="; ".join(result.problems[:5]) or "all checks passed",
            actor=actor,
        )
        session.add(row)
    return row
