"""Clearinghouse mailbox profiles as data: folders, file names, envelope ids and polling, one per partner."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PARTNERS_FILE = Path(__file__).with_name("partners.yaml")
Usage = Literal["T", "P"]  # ISA15: test or production data
_FOLDER = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_ISA_ID = re.compile(r"^[A-Za-z0-9 ]{1,15}$")
_PLACEHOLDERS = {"organization", "control_number", "usage"}


class AfterDownload(StrEnum):
    """What happens to a remote answer file once it is committed locally."""

    delete = "delete"
    move = "move"
    leave = "leave"


class Authentication(StrEnum):
    """How the mailbox account authenticates: a password or an SSH private key."""

    password = "password"
    key = "key"


class ReceiverIds(BaseModel):
    """ISA08 (and GS03) of the partner, which may differ between test and production interchanges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    test: str
    production: str

    @field_validator("test", "production")
    @classmethod
    def _isa08_shape(cls, value: str) -> str:
        if not _ISA_ID.match(value):
            raise ValueError("an ISA08 receiver id is 1 to 15 letters, digits or spaces")
        return value


class PartnerProfile(BaseModel):
    """One partner's mailbox conventions; correcting one against its companion guide is a change of data only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="key of the profile in partners.yaml")
    display_name: str
    source: str = Field(description="where the convention comes from; check it against the companion guide")
    upload_folder: str
    download_folder: str
    archive_folder: str | None = Field(default=None, description="where answers go when after_download is move")
    file_name_pattern: str = Field(
        description="outbound name without extension: {organization} {control_number} {usage}"
    )
    extension: str = Field(pattern=r"^\.[A-Za-z0-9]{1,5}$")
    upload_with_temporary_name: bool = Field(description="upload under a temporary name, then rename to the final one")
    temporary_suffix: str = Field(default=".part", pattern=r"^\.[A-Za-z0-9]{1,5}$")
    poll_interval_seconds: float = Field(gt=0)
    after_download: AfterDownload
    answers_zipped: bool = False
    answer_name_pattern: str | None = Field(default=None, description="how the partner names answers (informational)")
    receiver_qualifier: str = Field(default="ZZ", pattern=r"^[A-Z0-9]{2}$", description="ISA07")
    receiver_id: ReceiverIds
    usage: Usage = Field(default="T", description="ISA15: T until the partner confirms test files pass")
    acknowledgement_requested: bool = Field(description="ISA14: whether a TA1 is requested for every interchange")
    authentication: Authentication

    @field_validator("upload_folder", "download_folder", "archive_folder")
    @classmethod
    def _relative_folder(cls, value: str | None) -> str | None:
        if value is not None and not _FOLDER.match(value):
            raise ValueError("a folder is a relative path of letters, digits, '_', '.', '-' separated by '/'")
        if value is not None and ".." in value.split("/"):
            raise ValueError("a folder may not climb out of the mailbox with '..'")
        return value

    @field_validator("file_name_pattern")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        named = set(re.findall(r"{([^{}]*)}", value))
        if not named <= _PLACEHOLDERS:
            raise ValueError(f"unknown placeholders {sorted(named - _PLACEHOLDERS)}; use {sorted(_PLACEHOLDERS)}")
        if "control_number" not in named:
            raise ValueError("the name must hold {control_number}, so each interchange has its own file")
        return value

    @model_validator(mode="after")
    def _archive_when_moving(self) -> PartnerProfile:
        if self.after_download is AfterDownload.move and not self.archive_folder:
            raise ValueError("after_download 'move' needs an archive_folder")
        return self

    def interchange_receiver_id(self, usage: Usage | None = None) -> str:
        """ISA08 for an interchange of this usage (the profile's own ISA15 when not given)."""
        chosen = usage or self.usage
        return self.receiver_id.production if chosen == "P" else self.receiver_id.test

    def group_receiver_id(self, usage: Usage | None = None) -> str:
        """GS03: the same partner id as ISA08 for every shipped partner."""
        return self.interchange_receiver_id(usage)

    @property
    def acknowledgement_flag(self) -> str:
        """ISA14 as written in the envelope: 1 requests a TA1, 0 does not."""
        return "1" if self.acknowledgement_requested else "0"


def parse_profiles(document: object) -> dict[str, PartnerProfile]:
    """Validate a mapping of profile name to its fields (the shape of partners.yaml)."""
    if not isinstance(document, dict):
        raise ValueError("a partner file maps each profile name to its fields")
    return {
        str(name): PartnerProfile.model_validate({**fields, "name": str(name)}) for name, fields in document.items()
    }


@cache
def shipped_profiles() -> dict[str, PartnerProfile]:
    """The profiles shipped in partners.yaml, validated once."""
    return parse_profiles(yaml.safe_load(PARTNERS_FILE.read_text(encoding="utf-8")))


def profile(name: str) -> PartnerProfile:
    """A shipped profile by name; KeyError names the ones there are."""
    profiles = shipped_profiles()
    if name not in profiles:
        raise KeyError(f"no mailbox profile {name!r}; known: {', '.join(sorted(profiles))}")
    return profiles[name]
