"""Fixtures of the remittance tests: project-written 835 files and the real-world sample folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

REPO_ROOT = Path(__file__).resolve().parents[3]


def samples_dir() -> Path:
    """Where the real-world sample files live (CLAIMFLOW_SAMPLES_DIR, default <repo>/../shared/samples)."""
    return Path(os.environ.get("CLAIMFLOW_SAMPLES_DIR", REPO_ROOT.parent / "shared" / "samples"))


def sample_835_files() -> list[Path]:
    """Every 835 sample, or an empty list when the folder is absent."""
    folder = samples_dir() / "x12-835"
    return sorted(folder.glob("*")) if folder.is_dir() else []


def era_text(
    claims: list[str],
    *,
    payment: str,
    trace: str = "EFT0001",
    payment_date: str = "20261015",
    payer_tin: str = "1999999999",
    version: str = "005010X221A1",
    plb: list[str] | None = None,
    transactions: int = 1,
) -> str:
    """An 835 interchange with one (or more identical) payment transactions around the given CLP loops.

    Claim loops are written with '*' elements, ':' components and one segment per line; the terminator is '~'.
    """
    body: list[str] = []
    for number in range(1, transactions + 1):
        segments = [
            f"ST*835*{number:04d}",
            f"BPR*I*{payment}*C*ACH*CCP*01*999999999*DA*123456*{payer_tin}**01*888888888*DA*654321*{payment_date}",
            f"TRN*1*{trace}{'' if number == 1 else number}*{payer_tin}",
            f"DTM*405*{payment_date}",
            "N1*PR*SANDBOX BEHAVIORAL HEALTH PLAN*XV*SBX01",
            "N1*PE*TEST PRACTICE*XX*1234567893",
            *[segment for claim in claims for segment in claim.strip().splitlines()],
            *(plb or []),
        ]
        body.extend([*segments, f"SE*{len(segments) + 1}*{number:04d}"])
    header = [
        "ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*CLAIMFLOW      *261015*1200*^*00501*000000001*0*T*:",
        f"GS*HP*SANDBOXCH*CLAIMFLOW*20261015*1200*1*X*{version}",
    ]
    trailer = [f"GE*{transactions}*1", "IEA*1*000000001"]
    return "~\n".join([*header, *body, *trailer]) + "~\n"


PAID = """
LX*1
CLP*{claim}*1*150*100*20*12*PCN-PAID-1
NM1*QC*1*DOE*JANE****MI*M0001
SVC*HC:90834*150*100**1
DTM*472*20260920
CAS*CO*45*30
CAS*PR*3*20
"""
DENIED = """
CLP*{claim}*4*150*0**12*PCN-DENIED-1
NM1*QC*1*DOE*JOHN****MI*M0002
SVC*HC:90837:95*150*0**1
DTM*472*20260921
CAS*CO*197*150
LQ*HE*N54
"""
COST_SHARE = """
CLP*{claim}*1*150*0*150*12*PCN-DEDUCT-1
SVC*HC:90834*150*0**1
DTM*472*20260922
CAS*PR*1*150
"""
REVERSAL = """
CLP*{claim}*22*-150*-100*-20*12*PCN-PAID-1
SVC*HC:90834*-150*-100**1
CAS*CO*45*-30
CAS*PR*3*-20
"""


class Eras:
    """Project-written 835 pieces: CLP loop templates (format with claim=...) and the file builder."""

    paid = PAID
    denied = DENIED
    cost_share = COST_SHARE
    reversal = REVERSAL
    text = staticmethod(era_text)
    samples = staticmethod(sample_835_files)


@pytest.fixture
def eras() -> Eras:
    """The 835 fixtures."""
    return Eras()


@pytest.fixture
async def stack_sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the remittance runtime role (stack tests only)."""
    from remittance.config import RemittanceSettings

    from shared.db import create_engine, create_sessionmaker
    from shared.settings import load_settings

    engine = create_engine(load_settings(RemittanceSettings), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """The remittance API in process, with its lifespan running (stack tests only)."""
    from remittance.main import create_app

    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://remittance") as http,
    ):
        yield http


@pytest.fixture
def org() -> uuid.UUID:
    """A fresh organization per test."""
    return uuid.uuid4()
