"""Shared fixtures: the real pymodbus corpus, fresh databases, the session store, PostgreSQL.

Helpers and constants live in ``triage_testkit`` (a plain module next to this file).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import settings
from sqlalchemy.engine import make_url
from triage_testkit import PAIRS, RELEASED, RELEASES, SAMPLE, TOOLS, diff_json, ingest

# CI runs the property tests with a fixed seed, so a run is repeatable; a developer's run
# explores new examples each time (HYPOTHESIS_PROFILE unset).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PG_SERVER = os.environ.get("TRIAGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/")


@pytest.fixture(scope="session")
def sample() -> Path:
    """The real scanner output of pymodbus (``sample_sarif/pymodbus``), one folder a release."""
    return SAMPLE


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite file URL."""
    return f"sqlite:///{tmp_path / 'triage.db'}"


@pytest.fixture(scope="session")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """All 8 releases ingested in order through the CLI with their dates, once a session.

    Read-only.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('corpus') / 'triage.db'}"
    for release in RELEASES:
        ingest(url, release, TOOLS, "--released", RELEASED[release])
    return url


@pytest.fixture(scope="session")
def corpus_diffs(corpus_db: str) -> dict[tuple[str, str], Any]:
    """``diff --format json`` of every consecutive pair of releases in the session store."""
    return {(a, b): diff_json(corpus_db, a, b) for a, b in PAIRS}


def _pg_unavailable(why: object) -> NoReturn:
    if os.environ.get("TRIAGE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL not reachable at {PG_SERVER} (TRIAGE_REQUIRE_POSTGRES=1): {why}")
    pytest.skip(f"PostgreSQL not reachable at {PG_SERVER} ({why}); these store tests run "
                "where a server answers, and CI requires them (TRIAGE_REQUIRE_POSTGRES=1)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database on the local server; dropped afterwards.

    Skipped when the server does not answer, unless ``TRIAGE_REQUIRE_POSTGRES=1`` (CI) makes that
    a failure.
    """
    try:
        import psycopg
        from psycopg import sql
    except ImportError as e:  # the dev extra is not installed
        _pg_unavailable(e)
    server = make_url(PG_SERVER)
    admin = server.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        _pg_unavailable(e)
    name = f"triage_test_{uuid.uuid4().hex[:16]}"
    with conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden``: rewrite the golden files under tests/golden instead of comparing."""
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/* from the current output (review the diff)")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite golden files."""
    return bool(request.config.getoption("--update-golden"))
