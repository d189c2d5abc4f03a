"""What Flask and its extensions read from ``app.config``, derived from :class:`Settings`.

The application reads its own settings from the typed object; ``app.config`` carries only what
Flask, Flask-SQLAlchemy, Flask-WTF, Flask-Babel and Flask-Limiter look up there themselves.
"""

from __future__ import annotations

from typing import Any

from app.settings.catalogue import Settings

#: The same in every environment: cookies never readable by scripts, never sent cross-site.
FIXED: dict[str, Any] = {
    "DEBUG": False,  # the Werkzeug debugger would leak internals; errors use our own pages
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "assenso_session",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": 60 * 60 * 4,
    "BABEL_DEFAULT_LOCALE": "en",
}

#: Production only: cookies over HTTPS alone, links built with https.
PRODUCTION: dict[str, Any] = {
    "SESSION_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_SECURE": True,
    "PREFERRED_URL_SCHEME": "https",
}


def flask_config(settings: Settings) -> dict[str, Any]:
    """The ``app.config`` entries of ``settings``."""
    config = dict(FIXED)
    config.update(
        TESTING=settings.testing,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_BINDS={"keystore": settings.keystore_url},
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_STORAGE_OPTIONS={
            "key_prefix": settings.ratelimit_key_prefix,
            "wrap_exceptions": True,
        },
    )
    if settings.environment == "production":
        config.update(PRODUCTION)
    return config
