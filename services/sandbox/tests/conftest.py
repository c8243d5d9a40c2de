"""Fixtures of the sandbox tests: an 837P batch to submit and pyx12 validation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

X12VALID = Path(sys.executable).parent / "x12valid"

CLAIM = (
    "HL*{hl}*1*22*0~SBR*P*18*G100******CI~NM1*IL*1*DOE*JANE****MI*{member}~N3*100 MAIN ST~N4*SPRINGFIELD*IL*62701~"
    "DMG*D8*19900402*F~NM1*PR*2*SANDBOX BEHAVIORAL HEALTH PLAN*****PI*{payer}~"
    "CLM*{claim}*{total}***11:B:{frequency}*Y*A*Y*Y~{refs}{hi}NM1*82*1*RIVERA*ANA****XX*1245319599~"
    "PRV*PE*PXC*101YP2500X~"
    "LX*1~SV1*HC:90834*{line1}*UN*1*11**1~DTP*472*D8*{dos}~"
    "LX*2~SV1*HC:90785*{line2}*UN*1*11**1~DTP*472*D8*{dos}~"
)


def batch_837(
    control: int = 7,
    claims: tuple[str, ...] = ("CF0000000000000001",),
    *,
    bht: str = "20260915",
    payer: str = "SBX01",
    diagnoses: bool = True,
    se_count: int | None = None,
    gs06: int | None = None,
    member: str | None = None,
    frequency: str = "1",
    payer_claim_number: str | None = None,
    authorization: str | None = None,
    dos: str = "20260914",
) -> str:
    """A small 837P batch in the shape submission writes, each claim 150 + 30.55 (90834 + 90785)."""
    body = [
        f"ST*837*{control:04d}*005010X222A1",
        f"BHT*0019*00*{control:04d}*{bht}*1200*CH",
        "NM1*41*2*CLAIMFLOW*****46*CLAIMFLOW",
        "PER*IC*CLAIMFLOW*TE*8005550100",
        "NM1*40*2*SANDBOX CLEARINGHOUSE*****46*SANDBOXCH",
        "HL*1**20*1",
        "PRV*BI*PXC*261QM0801X",
        "NM1*85*2*LAKESIDE COUNSELING*****XX*1234567893",
        "N3*100 MAIN ST",
        "N4*SPRINGFIELD*IL*62701",
        "REF*EI*123456789",
    ]
    for n, claim in enumerate(claims, start=2):
        text = CLAIM.format(
            hl=n,
            claim=claim,
            payer=payer,
            total="180.55",
            line1="150",
            line2="30.55",
            hi="HI*ABK:F321~" if diagnoses else "",
            member=member or f"M{n - 1:04d}",  # a member per claim: M0001, M0002...
            frequency=frequency,
            refs=(f"REF*F8*{payer_claim_number}~" if payer_claim_number else "")
            + (f"REF*G1*{authorization}~" if authorization else ""),
            dos=dos,
        )
        body += [segment for segment in text.split("~") if segment]
    count = se_count if se_count is not None else len(body) + 1
    segments = [
        "ISA*00*          *00*          *ZZ*CLAIMFLOW      *ZZ*SANDBOXCH      *260915*1200*^*00501*"
        f"{control:09d}*0*T*:",
        f"GS*HC*CLAIMFLOW*SANDBOXCH*20260915*1200*{gs06 if gs06 is not None else control}*X*005010X222A1",
        *body,
        f"SE*{count}*{control:04d}",
        f"GE*1*{gs06 if gs06 is not None else control}",
        f"IEA*1*{control:09d}",
    ]
    return "~\n".join(segments) + "~\n"


def pyx12_verdict(text: str, folder: Path, name: str) -> tuple[bool, str]:
    """Validate an X12 file with pyx12's x12valid: (the '<file>: OK' verdict, everything it printed)."""
    (folder / name).write_text(text)
    result = subprocess.run([str(X12VALID), name], cwd=folder, capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    return f"{name}: OK" in output, output


class Files:
    """Builders of input files and the pyx12 check (a fixture, since test modules cannot import conftest)."""

    batch = staticmethod(batch_837)
    pyx12_verdict = staticmethod(pyx12_verdict)


@pytest.fixture
def files() -> Files:
    """837 builder and pyx12 validation."""
    return Files()
