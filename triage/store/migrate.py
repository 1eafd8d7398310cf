"""Bring a database to the newest schema with the Alembic migrations shipped in the package.

Run on every open, inside one transaction (serialised on SQLite by BEGIN IMMEDIATE and on
PostgreSQL by an advisory lock), so a database written by an older triage opens with a newer
one and loses nothing, and two jobs opening a new database at once do not collide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from triage.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "triage.store:migrations"
HEAD = "0011"
"""The newest revision (a test checks it against the migrations): a database already there
opens without loading Alembic, which is most of the start-up of a short command."""
_LOCK = 62444


def alembic_config() -> Config:
    """The Alembic configuration pointing at the shipped migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def head_revision() -> str:
    """The newest schema revision this version of triage knows."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


READ_OPTION = "triage_read"
READ = {READ_OPTION: True}
"""Execution options of a read-only transaction: on SQLite a plain BEGIN, which no writer
blocks (writes begin IMMEDIATE, see ``triage.store.sql``)."""


def _at_head(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execution_options(**READ)
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    except SQLAlchemyError:  # no such table yet: a new database
        return False


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (default: the newest)."""
    if revision == "head" and _at_head(engine):
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    cfg = alembic_config()
    known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK})")
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and current not in known:
            raise DatabaseError(
                f"{engine.url.render_as_string(hide_password=True)}: the database has schema "
                f"revision {current}, newer than this triage knows ({head_revision()})",
                hint="upgrade triage to open it",
            )
        cfg.attributes["connection"] = conn
        if current is None and inspect(conn).has_table("product"):
            # A database made before migrations were tracked holds the first schema.
            command.stamp(cfg, "0001")
        try:
            command.upgrade(cfg, revision)
        except CommandError as e:
            raise DatabaseError(f"cannot migrate the database: {e}") from e
