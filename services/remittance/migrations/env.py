"""Alembic environment of the remittance schema."""

from shared.migrate import run_env

run_env("remittance")
