"""Flask extensions, created unbound here and bound to an application in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits.errors import ConfigurationError
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from config import ConfigError

#: Constraint names are deterministic so migrations can refer to them on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model; carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: The languages customers may choose, the first the default.
LANGUAGES = ("en", "it")


def select_locale() -> str:
    """The customer's chosen language, else the best match of the browser's languages."""
    from flask import session

    languages = LANGUAGES
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


db = SQLAlchemy(model_class=Base)
if TYPE_CHECKING:
    # What ``db.Model`` is to a type checker: the declarative base it extends.
    Model = Base
else:
    #: The base class of every model (Flask-SQLAlchemy's ``db.Model``, bound to ``db``).
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
#: Counts in a moving window: no burst of twice the limit across the edge of a fixed window.
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="moving-window")
babel = Babel()


def init_limiter(app: Flask) -> None:
    """Bind the rate limiter; a storage it cannot use stops the start naming the setting."""
    try:
        limiter.init_app(app)
    except ConfigurationError as exc:
        raise ConfigError(f"ASSENSO_RATELIMIT_STORAGE_URI cannot be used: {exc}") from None
