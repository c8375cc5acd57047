"""Flask extensions, created unbound and initialised by the factory."""

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

# Named constraints, so Alembic revisions can drop them again on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


log = logging.getLogger(__name__)
db = SQLAlchemy(model_class=Base)
# What a function that only runs queries accepts: a plain Session or Flask-SQLAlchemy's scoped one.
AnySession = Session | scoped_session[Any]
# mypy cannot see through db.Model (a class made at run time); at run time it is the real thing.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate(compare_type=True, render_as_batch=True)


@event.listens_for(Engine, "connect")
def configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """SQLite in WAL mode: readers never block the writer; a commit is one fsync and still durable (FULL)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()


def release_session(_error: BaseException | None = None) -> None:
    """End the request's session even when its connection died under it (a database restart).

    Closing rolls back, and a rollback on a connection the server terminated raises: uncaught in a
    teardown it becomes gunicorn's bare 500, and the session stays registered for a later request.
    """
    try:
        db.session.remove()
    except SQLAlchemyError as error:
        log.warning("database connection lost at the end of a request (%s); discarded", type(error).__name__)
        with contextlib.suppress(SQLAlchemyError):
            db.session().invalidate()
        db.session.registry.clear()
