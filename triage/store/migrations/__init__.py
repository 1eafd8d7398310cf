"""Alembic migrations of the tracking database, shipped in the package and applied on open."""
