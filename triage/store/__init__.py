"""The tracking store: the only package that imports SQLAlchemy."""

from __future__ import annotations

import os

from triage.store.sql import SqlStore

DEFAULT_URL = "sqlite:///triage.db"


def resolve_url(value: str | None) -> str:
    """``--db`` or ``TRIAGE_DB`` or ``./triage.db``; a plain file path means SQLite."""
    url = value or os.environ.get("TRIAGE_DB") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


def open_store(value: str | None = None) -> SqlStore:
    """Open (and create if needed) the store at a URL or path."""
    return SqlStore(resolve_url(value))


__all__ = ["DEFAULT_URL", "SqlStore", "open_store", "resolve_url"]
