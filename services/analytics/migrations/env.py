"""Alembic environment of the analytics schema."""

from shared.migrate import run_env

run_env("analytics")
