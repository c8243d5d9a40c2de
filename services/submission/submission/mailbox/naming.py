"""Outbound mailbox file names: one deterministic name per interchange, and the temporary name used while uploading."""

from __future__ import annotations

import re
import uuid

from submission.mailbox.profiles import PartnerProfile, Usage

MAX_NAME_LENGTH = 50
_NAME = re.compile(r"^[A-Za-z0-9_.]+$")
_ORGANIZATION_CHARACTERS = 12  # 48 bits of the organization id: distinct enough within one mailbox account


def organization_token(organization: uuid.UUID | str) -> str:
    """A short name-safe token for the organization: the first hex digits of its id (letters and digits of any
    other identifier)."""
    text = organization.hex if isinstance(organization, uuid.UUID) else re.sub(r"[^A-Za-z0-9]", "", organization)
    if not text:
        raise ValueError("the organization gives no letters or digits to name a file with")
    return text[:_ORGANIZATION_CHARACTERS]


def outbound_name(
    profile: PartnerProfile, *, organization: uuid.UUID | str, control_number: str | int, usage: Usage | None = None
) -> str:
    """The file name an interchange is uploaded under: the same for the same batch every time it is sent, so a
    resend after an unknown outcome overwrites its own partial copy instead of adding a second file."""
    control = str(control_number).strip()
    if not control.isdigit() or len(control) > 9:
        raise ValueError(f"ISA13 is at most 9 digits, not {control!r}")
    name = (
        profile.file_name_pattern.format(
            organization=organization_token(organization),
            control_number=control.zfill(9),
            usage=usage or profile.usage,
        )
        + profile.extension
    )
    check_name(name)
    return name


def temporary_name(profile: PartnerProfile, final_name: str) -> str:
    """The name a file is written under before its rename, which the partner does not pick up."""
    name = final_name + profile.temporary_suffix
    if not _NAME.match(name):
        raise ValueError(f"temporary name {name!r} holds characters outside [A-Za-z0-9_.]")
    return name


def check_name(name: str) -> None:
    """Refuse a name partners may not accept: longer than 50 characters or outside [A-Za-z0-9_.]."""
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"file name {name!r} is {len(name)} characters, more than {MAX_NAME_LENGTH}")
    if not _NAME.match(name):
        raise ValueError(f"file name {name!r} holds characters outside [A-Za-z0-9_.]")
