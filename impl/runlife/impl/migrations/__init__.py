"""Alembic migrations of the SQL run store's schema (run by :mod:`runlife.impl.migrate`)."""
