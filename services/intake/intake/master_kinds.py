"""Responses, list filters and the registry of master-data kinds (how each is stored, listed and replicated)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import ConfigDict, Field

from intake.patient_schemas import AuthorizationIn, CoverageIn, PatientIn
from intake.practice_schemas import FeeScheduleEntryIn, PayerIn, PracticeIn, ProviderIn, UserIn
from intake.schemas import (
    LicenseType,
    ListQuery,
    MasterIn,
    MasterOut,
    Modifier,
    Npi,
    ProcedureCode,
    Role,
    Scope,
    Text,
)
from shared.events import reference
from shared.events.envelope import Payload


class UserOut(UserIn, MasterOut):
    """A user of the organization."""

    model_config = ConfigDict(extra="ignore")


class PracticeOut(PracticeIn, MasterOut):
    """A practice."""

    model_config = ConfigDict(extra="ignore")


class FeeScheduleEntryOut(FeeScheduleEntryIn, MasterOut):
    """A fee schedule entry."""

    model_config = ConfigDict(extra="ignore")


class ProviderOut(ProviderIn, MasterOut):
    """A provider."""

    model_config = ConfigDict(extra="ignore")


class PayerOut(PayerIn, MasterOut):
    """A payer with its profiles."""

    model_config = ConfigDict(extra="ignore")


class PatientOut(PatientIn, MasterOut):
    """A patient."""

    model_config = ConfigDict(extra="ignore")


class CoverageOut(CoverageIn, MasterOut):
    """A coverage."""

    model_config = ConfigDict(extra="ignore")


class AuthorizationOut(AuthorizationIn, MasterOut):
    """A prior authorization."""

    model_config = ConfigDict(extra="ignore")


class UserQuery(ListQuery):
    """Filters of the user list."""

    role: Role | None = None
    email: Text | None = Field(default=None, max_length=254)
    active: bool | None = None
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60)


class PracticeQuery(ListQuery):
    """Filters of the practice list."""

    npi: Npi | None = None
    tin: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60)


class FeeScheduleQuery(ListQuery):
    """Filters of the fee schedule list."""

    practice_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    code: ProcedureCode | None = None
    modifier: Modifier | None = None
    active_on: date | None = Field(default=None, description="Entries in force on this date")


class ProviderQuery(ListQuery):
    """Filters of the provider list."""

    practice_id: uuid.UUID | None = None
    npi: Npi | None = None
    license_type: LicenseType | None = None
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60, description="Last name prefix")


class PayerQuery(ListQuery):
    """Filters of the payer list."""

    x12_payer_id: str | None = Field(default=None, pattern=r"^[0-9A-Za-z][0-9A-Za-z-]{1,79}$")
    behavioral_health_carve_out: bool | None = None
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60)


class PatientQuery(ListQuery):
    """Filters of the patient list."""

    practice_id: uuid.UUID | None = None
    ehr_patient_id: Text | None = Field(default=None, min_length=1, max_length=80)
    birth_date: date | None = None
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60, description="Last name prefix")


class CoverageQuery(ListQuery):
    """Filters of the coverage list."""

    practice_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    member_id: Text | None = Field(default=None, min_length=1, max_length=80)
    priority: Literal["primary", "secondary", "tertiary"] | None = None
    active_on: date | None = Field(default=None, description="Coverages whose plan dates include this date")


class AuthorizationQuery(ListQuery):
    """Filters of the authorization list."""

    practice_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    number: Text | None = Field(default=None, min_length=1, max_length=50)
    active_on: date | None = Field(default=None, description="Authorizations whose dates include this date")


@dataclass(frozen=True)
class MasterKind:
    """One kind of master data: its HTTP models, who may write it, how it is scoped, replicated and audited."""

    entity_type: str
    plural: str
    request: type[MasterIn]
    response: type[MasterOut]
    query: type[ListQuery]
    write_scope: Scope
    replicated_as: type[Payload] | None = None
    audited: bool = False
    practice_scoped: bool = True
    immutable: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    name_field: str | None = None
    date_range: tuple[str, str] | None = None


KINDS: dict[str, MasterKind] = {
    kind.entity_type: kind
    for kind in (
        MasterKind(
            "user",
            "users",
            UserIn,
            UserOut,
            UserQuery,
            "admin",
            replicated_as=reference.UserRef,
            practice_scoped=False,
            unique=(("email",),),
            name_field="name",
        ),
        MasterKind(
            "practice",
            "practices",
            PracticeIn,
            PracticeOut,
            PracticeQuery,
            "admin",
            replicated_as=reference.PracticeRef,
            name_field="name",
        ),
        MasterKind(
            "fee_schedule_entry",
            "fee-schedules",
            FeeScheduleEntryIn,
            FeeScheduleEntryOut,
            FeeScheduleQuery,
            "admin",
            replicated_as=reference.FeeScheduleEntryRef,
            immutable=("practice_id",),
            date_range=("effective_from", "effective_to"),
        ),
        MasterKind(
            "provider",
            "providers",
            ProviderIn,
            ProviderOut,
            ProviderQuery,
            "admin",
            replicated_as=reference.ProviderRef,
            immutable=("practice_id",),
            unique=(("practice_id", "npi"),),
            name_field="last_name",
        ),
        MasterKind(
            "payer",
            "payers",
            PayerIn,
            PayerOut,
            PayerQuery,
            "admin",
            replicated_as=reference.PayerRef,
            practice_scoped=False,
            name_field="name",
        ),
        MasterKind(
            "patient",
            "patients",
            PatientIn,
            PatientOut,
            PatientQuery,
            "encounters:write",
            audited=True,
            immutable=("practice_id",),
            unique=(("practice_id", "ehr_patient_id"),),
            name_field="last_name",
        ),
        MasterKind(
            "coverage",
            "coverages",
            CoverageIn,
            CoverageOut,
            CoverageQuery,
            "encounters:write",
            audited=True,
            immutable=("patient_id",),
            date_range=("start_date", "end_date"),
        ),
        MasterKind(
            "authorization",
            "authorizations",
            AuthorizationIn,
            AuthorizationOut,
            AuthorizationQuery,
            "encounters:write",
            audited=True,
            immutable=("patient_id",),
            date_range=("start_date", "end_date"),
        ),
    )
}
