"""The steps of ``create_app``: extensions, domain services, blueprints and commands."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext
from sqlalchemy import event

from app import sqlite_wal
from app.extensions import (
    babel,
    csrf,
    db,
    init_limiter,
    login_manager,
    migrate,
    select_locale,
)

SQLITE_CACHE_KIB = 65536
# Pages of write-ahead log before a commit also checkpoints it into the database file
# (SQLite's default is 1,000). Each checkpoint syncs the file; at the default a single consent
# change (about a dozen pages) paid for one every ~80 commits. 8,192 pages of 4 KiB keep the
# log under about 32 MiB. A thread of app/sqlite_wal.py checkpoints file databases ten times a
# second, so this limit is reached only when that thread cannot keep up or has stopped.
SQLITE_WAL_AUTOCHECKPOINT = 8192
# Reads of the database file go through a memory map of up to this size (SQLite's own limit
# is just under 2 GiB) instead of a copy per page read: an audience of a million customers
# read about 10 % faster. The mapped pages are the operating system's file cache, shared by
# every connection, not memory of the process's own.
SQLITE_MMAP_BYTES = 2 * 1024**3


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL journal, enforced foreign keys, a larger page cache and memory-mapped reads on every
    SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # 64 MiB page cache (default 2 MiB), filled only as pages are used: large ledgers and
    # audiences otherwise re-read their index pages from the OS on every batch.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT}")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()
    # Commits no longer pay for the checkpoint (app/sqlite_wal.py).
    sqlite_wal.attach(dbapi_connection)


def _sqlite_closed(dbapi_connection, _record) -> None:
    sqlite_wal.detach(dbapi_connection)


def configure_sqlite(engine) -> None:
    """Every connection of a SQLite ``engine`` gets the settings above; a file database gets
    its write-ahead log checkpointed off the committing threads while connections are open."""
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "close", _sqlite_closed)
    event.listen(engine, "close_detached", _sqlite_closed)


def init_extensions(app: Flask) -> None:
    """Bind the unbound extensions of ``app.extensions`` to this application."""
    from app import models  # noqa: F401  (every table on the metadata)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                configure_sqlite(engine)
    migrate.init_app(app, db, directory=str(_root() / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    init_limiter(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["page_language"] = _page_language
    login_manager.init_app(app)
    # Flask-Login's "strong" protection hashes the client's address, which a forged
    # X-Forwarded-For sets at will; every session is checked server-side instead
    # (app/web/auth_session.py).
    login_manager.session_protection = None
    login_manager.login_message = "Please sign in to continue."
    login_manager.localize_callback = gettext  # said in the visitor's language
    from app.web import auth_session

    login_manager.user_loader(auth_session.load_user)


def _page_language() -> str:
    """The language the page is rendered in, for ``<html lang>`` (the portal may set ``g.lang``)."""
    from flask import g
    from flask_babel import get_locale

    return g.get("lang") or str(get_locale() or "en")


def init_domains(app: Flask) -> None:
    """Load the policies, key rings and signing key every request relies on, and check that the
    key store belongs to the database; fail early."""
    from app import startup
    from app.vault import keystore, stores

    startup.init_runtime(app)
    startup.record_first_policies(app)
    keystore.ensure_schema(app)
    stores.check_stores(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per audience; access rules, headers and error pages for all of them."""
    from app.web import access, api, errors, headers, ids, text_guard, throttle
    from app.web.admin import bp as admin_bp
    from app.web.auth import bp as auth_bp
    from app.web.compliance import bp as compliance_bp
    from app.web.mailbox import bp as mailbox_bp
    from app.web.marketing import bp as marketing_bp
    from app.web.ops import bp as ops_bp
    from app.web.ops import requests as ops_requests
    from app.web.portal import bp as portal_bp
    from app.web.public import bp as public_bp
    from app.web.request_links import bp as request_links_bp
    from app.web.unsubscribe import bp as unsubscribe_bp

    ids.init_app(app)
    ops_requests.init_app(app)
    for blueprint in (
        public_bp,
        auth_bp,
        portal_bp,
        compliance_bp,
        marketing_bp,
        admin_bp,
        unsubscribe_bp,
        request_links_bp,
        mailbox_bp,
        ops_bp,
    ):
        app.register_blueprint(blueprint)
    api.init_app(app)
    app.view_functions["static"] = access.public(app.view_functions["static"])
    app.before_request(access.enforce_access)
    text_guard.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    throttle.init_app(app)

    @app.context_processor
    def navigation():
        from app.web.navigation import items_for

        return {"nav_items": items_for}


def register_cli(app: Flask) -> None:
    """Register the ``flask`` command groups."""
    from app.cli import register

    register(app)


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
