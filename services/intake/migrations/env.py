"""Alembic environment of the intake schema."""

from shared.migrate import run_env

run_env("intake")
