"""Coding HTTP application."""

from fastapi import FastAPI

from coding.api import router
from coding.config import CodingSettings
from coding.models import infra
from shared.app import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    """The coding API: charges, holds, health and metrics."""
    return create_service_app(
        settings=load_settings(CodingSettings),
        infra=infra,
        routers=[router],
        title="Claimflow coding",
        description="Turns encounters into explainable charges; holds what cannot be coded safely.",
    )
