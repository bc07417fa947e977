"""Extension singletons, bound to the app in ``create_app``; SQLite connections set up for concurrent requests."""

import sqlite3

from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

SQLITE_BUSY_TIMEOUT_MS = 15_000
"""How long a SQLite write waits for another connection's write lock before it fails as ``database is locked``."""


class Base(DeclarativeBase):
    """Declarative base of every Paraf model; constraint names are fixed so migrations can refer to them."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
htmx = HTMX()
limiter = Limiter(get_remote_address)  # keyed by request.remote_addr unless a limit says otherwise: see app/throttle.py


@event.listens_for(Engine, "connect")
def _sqlite_for_concurrency(dbapi_connection, _record) -> None:
    """Put a SQLite database in WAL mode (readers never wait for the writer) and wait for a busy write lock."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
