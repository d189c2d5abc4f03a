"""The write-ahead log of a SQLite file is checkpointed by a thread of its own while the
application holds connections, and the file is whole once they are closed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time

from sqlalchemy import create_engine, event, text

from app import sqlite_wal
from app.bootstrap import configure_sqlite


def _engine(url: str):
    engine = create_engine(url)
    configure_sqlite(engine)
    return engine


def _wait(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _rows_in_the_file_alone(path, copy) -> int:
    """The rows of ``t`` in a copy of the database file made without its log."""
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as connection:
        return connection.execute("SELECT count(*) FROM t").fetchone()[0]


def test_the_log_of_a_file_database_is_checkpointed_off_the_committing_thread(tmp_path):
    path = tmp_path / "wal.sqlite3"
    engine = _engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _no_foreground_checkpoints(dbapi_connection, _record):
        # Only the thread can keep the log short.
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0").fetchall()

    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT)"))
    thread = sqlite_wal.running(str(path))
    assert thread is not None and thread.daemon
    for _ in range(300):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (body) VALUES (:b)"), {"b": "x" * 3000})
        time.sleep(0.001)
    assert _wait(lambda: thread.checkpoints > 0)
    # A checkpoint that began after the last commit finds every frame in the log and copies
    # them all into the database file, without a foreground checkpoint: the file alone, without
    # its log, holds every row. (How many frames the log holds by then depends on when the
    # checkpoints ran between the commits, so it is not asserted.)
    started = thread.checkpoints
    assert _wait(lambda: thread.checkpoints >= started + 2)
    assert thread.last is not None and thread.last[1] == thread.last[2] > 0
    assert _rows_in_the_file_alone(path, tmp_path / "alone.sqlite3") == 300
    # The next commit finds the log all copied and writes it again from its beginning.
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t (body) VALUES ('after')"))
    assert _wait(lambda: thread.last is not None and 0 < thread.last[1] < 10)
    engine.dispose()


def test_closing_the_last_connection_stops_the_thread_and_leaves_the_file_whole(tmp_path):
    path = tmp_path / "whole.sqlite3"
    engine = _engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
    thread = sqlite_wal.running(str(path))
    assert thread is not None
    engine.dispose()
    assert not thread.is_alive() and sqlite_wal.running(str(path)) is None
    # The database file alone, without its log, holds every committed row.
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (3,)
    # A new connection starts a new thread.
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        assert sqlite_wal.running(str(path)) is not None
    engine.dispose()
    assert sqlite_wal.running(str(path)) is None


def test_memory_databases_have_no_thread():
    before = {thread.name for thread in threading.enumerate()}
    engine = _engine("sqlite://")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
        assert sqlite_wal.database_file(connection.connection.dbapi_connection) is None
    after = {thread.name for thread in threading.enumerate()}
    assert not {name for name in after - before if name.startswith("sqlite-wal")}
    engine.dispose()


def test_the_thread_ends_when_the_file_is_gone_and_never_creates_it(tmp_path):
    path = tmp_path / "gone.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (n INTEGER)")
    connection.commit()
    thread = sqlite_wal.attach(connection, interval=0.01)
    assert thread is not None and _wait(lambda: thread.checkpoints > 0)
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    assert _wait(lambda: not thread.is_alive())
    assert not path.exists()
    sqlite_wal.detach(connection)
