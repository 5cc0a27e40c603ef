"""Flask extensions, created once here and bound to an app in `create_app`."""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from babel import Locale
from flask import Flask, g, request
from flask_babel import Babel, get_locale, get_translations
from flask_bootstrap import Bootstrap5
from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that migrations can drop and alter them on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
compress = Compress()  # pages and JSON, brotli or gzip (app/assets.py for files)
cache = Cache()  # survey results under a stamp (app/services/results_cache.py)
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def parsed_locale() -> Locale:
    """Babel's locale selector: `select_locale`'s language, parsed once per process (Babel
    would parse the text on every request that says a word)."""
    return _parsed(select_locale())


@functools.lru_cache(maxsize=16)
def _parsed(language: str) -> Locale:
    return Locale.parse(language)


def install_gettext(app: Flask) -> None:
    """Templates' `_()` and its kin look their words up in `catalogue()`: Flask-Babel's own
    callables found the request's catalogue again for every word (its context, domain and the
    locale's name: 5% of a survey page's time, py-spy)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )


def catalogue() -> Any:
    """Flask-Babel's catalogue for this request's locale, found once per request and locale: a
    locale forced inside the request (`force_locale`: a job's own language) is another object,
    so it finds its own catalogue, and the request's comes back after it. The one domain of
    the app (no view sets another)."""
    locale = get_locale()
    if locale is None:  # outside an app context: Flask-Babel answers with no words
        return get_translations()
    kept = g.get("_catalogue")
    if kept is not None and kept[0] is locale:
        return kept[1]
    found = get_translations()
    g._catalogue = (locale, found)
    return found


def select_locale() -> str:
    """`?lang=` for this request, else the visitor's saved choice, else Vietnamese."""
    from flask import current_app, has_request_context

    if not has_request_context():  # the command line, background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get("lang")):
        if candidate in languages:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers, a busy timeout instead of 'database is locked', real FKs."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
