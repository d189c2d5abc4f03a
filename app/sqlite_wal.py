"""Checkpoints of a SQLite write-ahead log on a thread of their own.

With the log in WAL mode every commit appends pages to ``<db>-wal``; they are copied back into the
database file by a *checkpoint*. Left to SQLite, the commit that crosses ``wal_autocheckpoint``
pages runs that checkpoint itself: one consent change in a hundred then waited 50 to 85 ms for
thousands of pages to be copied and synced while the others took 50 µs. This module moves the
work off the committing threads: one daemon thread per database file and process runs a
``PASSIVE`` checkpoint (it never waits for, nor blocks, readers or writers) every
``INTERVAL_S``, so each checkpoint copies only the last fraction of a second of pages. The
foreground ``wal_autocheckpoint`` stays as the fallback should the thread stop.

The thread lives while the process holds connections of its own to the file: it starts with the
first (:func:`attach`, from the engine's ``connect`` event) and is stopped, its connection closed,
when the last one closes (:func:`detach`, from the ``close`` events). Once an application has
closed its connections the file is whole again, as SQLite leaves it, and may be copied alone.
The thread opens the file read-write without creating it and ends by itself should the file go
away or checkpoints keep failing; it holds no state that matters, so a process may exit at any
moment.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("assenso.sqlite_wal")

# Seconds between two checkpoints. 0.1 s kept single consent changes fastest (1 s let a
# checkpoint grow to a 400 ms stall of its own); an idle checkpoint is a read of the log index.
INTERVAL_S = 0.1
# Consecutive failed checkpoints (locked, unreadable) after which the thread gives up and the
# foreground autocheckpoint carries on alone.
MAX_FAILURES = 100

_lock = threading.Lock()
_running: dict[tuple[int, str], _Checkpointer] = {}
# Open application connections per (process, file), and the file of each connection.
_open: dict[tuple[int, str], int] = {}
_connection_file: dict[int, tuple[int, str]] = {}
# How long closing the last connection waits for a checkpoint under way to finish.
STOP_WAIT_S = 5.0


class _Checkpointer(threading.Thread):
    def __init__(self, path: str, interval: float) -> None:
        super().__init__(name=f"sqlite-wal-checkpoint:{Path(path).name}", daemon=True)
        self.path = path
        self.interval = interval
        self.checkpoints = 0
        # The last checkpoint's (busy, frames in the log, frames copied into the file).
        self.last: tuple[int, int, int] | None = None
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: a file that has gone away is an error here, never a new empty database.
        connection = sqlite3.connect(
            f"file:{quote(self.path)}?mode=rw",
            uri=True,
            timeout=0,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute("PRAGMA busy_timeout=0")
        return connection

    def run(self) -> None:
        connection: sqlite3.Connection | None = None
        failures = 0
        try:
            while not self._stopped.wait(self.interval):
                if not os.path.exists(self.path):
                    break
                try:
                    if connection is None:
                        connection = self._connect()
                    self.last = tuple(
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    )
                    self.checkpoints += 1
                    failures = 0
                except sqlite3.Error as error:
                    failures += 1
                    if connection is not None:
                        connection.close()
                        connection = None
                    if failures >= MAX_FAILURES:
                        log.warning("WAL checkpoints of %s stopped: %s", self.path, error)
                        break
        finally:
            if connection is not None:
                connection.close()
            with _lock:
                if _running.get((os.getpid(), self.path)) is self:
                    del _running[(os.getpid(), self.path)]


def database_file(dbapi_connection) -> str | None:
    """The main database file of an open SQLite connection, or None for memory and temporary
    databases."""
    cursor = dbapi_connection.cursor()
    try:
        rows = cursor.execute("PRAGMA database_list").fetchall()
    finally:
        cursor.close()
    for _seq, name, file in rows:
        if name == "main":
            return file or None
    return None


def attach(dbapi_connection, interval: float = INTERVAL_S) -> _Checkpointer | None:
    """Count a newly opened application connection and make sure its file's log is
    checkpointed; nothing for memory and temporary databases."""
    path = database_file(dbapi_connection)
    if path is None:
        return None
    key = (os.getpid(), os.path.realpath(path))
    with _lock:
        _connection_file[id(dbapi_connection)] = key
        _open[key] = _open.get(key, 0) + 1
        thread = _running.get(key)
        if thread is not None and thread.is_alive():
            return thread
        thread = _Checkpointer(key[1], interval)
        _running[key] = thread
        thread.start()
        return thread


def detach(dbapi_connection) -> None:
    """Count a closed application connection; with the last of its file, stop the thread."""
    with _lock:
        key = _connection_file.pop(id(dbapi_connection), None)
        if key is None:
            return
        remaining = _open[key] = _open[key] - 1
        if remaining > 0:
            return
        del _open[key]
        thread = _running.pop(key, None)
    if thread is not None:
        thread.stop()
        if thread is not threading.current_thread():
            thread.join(STOP_WAIT_S)


def running(path: str) -> _Checkpointer | None:
    """This process's checkpointer of ``path``, if one runs."""
    with _lock:
        thread = _running.get((os.getpid(), os.path.realpath(path)))
    return thread if thread is not None and thread.is_alive() else None
