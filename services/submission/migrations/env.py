"""Alembic environment of the submission schema."""

from shared.migrate import run_env

run_env("submission")
