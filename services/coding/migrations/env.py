"""Alembic environment of the coding schema."""

from shared.migrate import run_env

run_env("coding")
