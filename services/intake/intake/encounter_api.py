"""Intake endpoints for encounters: native JSON, FHIR Bundles, batches, amendments, cancellations, eligibility queue."""

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from intake import amendments, common, encounters, fhir, fhir_mapping, work_queues
from intake.encounter_schemas import (
    BatchItemResult,
    BatchResult,
    CancellationIn,
    EligibilityPage,
    EncounterAccepted,
    EncounterAmendmentIn,
    EncounterBatchIn,
    EncounterIn,
    EncounterView,
    FhirBundleAccepted,
    ItemProblem,
    ResolutionIn,
)
from intake.fhir_examples import BUNDLE_EXAMPLE, BUNDLE_SCHEMA
from intake.web import Follower, Writer, problems, respond_idempotently
from shared.db import unit_of_work
from shared.openapi import link
from shared.problems import Problem, field_errors

router = APIRouter(prefix="/v1")
FHIR_MEDIA_TYPES = ("application/fhir+json", "application/json")


def _follow_encounter(id_expression: str) -> dict[str, dict[str, Any]]:
    """Links from an answer holding an encounter id to what can be done with that encounter next."""
    by_id = {"path.encounter_id": id_expression}
    return {
        "GetEncounter": link(
            "GET", "/v1/encounters/{encounter_id}", description="Read the encounter", parameters=by_id
        ),
        "AmendEncounter": link(
            "POST", "/v1/encounters/{encounter_id}/amendments", description="Amend the encounter", parameters=by_id
        ),
        "CancelEncounter": link(
            "POST", "/v1/encounters/{encounter_id}/cancel", description="Cancel the encounter", parameters=by_id
        ),
        "ResolveEligibility": link(
            "POST",
            "/v1/work-queues/eligibility/{encounter_id}/resolve",
            description="Take the encounter out of the eligibility queue",
            parameters=by_id,
        ),
    }


ENCOUNTER_LINKS = _follow_encounter("$response.body#/encounter_id")


def _correlation_id(request: Request) -> str:
    """The caller's correlation id, or a new one for this encounter's journey."""
    supplied = request.headers.get("x-correlation-id", "")
    return supplied if 0 < len(supplied) <= 100 else str(uuid.uuid4())


@router.post(
    "/encounters",
    status_code=202,
    tags=["encounters"],
    summary="Submit an encounter",
    description=(
        "Validates the visit and answers 202 with its id. A visit with a business problem (coverage inactive, "
        "minutes missing, authorization missing, a category diagnosis) is accepted and listed in "
        "`work_queue_flags`; only a wrong request is refused. A repeated EHR encounter id answers 200 with the "
        "encounter already stored."
    ),
    responses={
        200: {
            "model": EncounterAccepted,
            "description": "Already received (same EHR encounter id)",
            "links": ENCOUNTER_LINKS,
        },
        202: {"model": EncounterAccepted, "description": "Received", "links": ENCOUNTER_LINKS},
        **problems(409, 422),
    },
)
async def post_encounter(request: Request, body: EncounterIn, principal: Writer) -> JSONResponse:
    """Accept a visit; business problems send it to a work queue instead of refusing it."""
    correlation_id = _correlation_id(request)

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        accepted, created = await encounters.receive_encounter(
            session, principal, body, correlation_id, request.app.state.code_sets
        )
        return (202 if created else 200), accepted

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/encounters/batch",
    tags=["encounters"],
    summary="Submit up to 500 encounters",
    description=(
        "Each item is validated and stored on its own: the answer lists, per index, "
        "202 (received), 200 (already received) or the 4xx problem of that item, which stored nothing. "
        "More than 500 items refuses the whole call and stores nothing."
    ),
    responses={200: {"model": BatchResult, "description": "A result per item"}, **problems(422)},
)
async def post_batch(request: Request, body: EncounterBatchIn, principal: Writer) -> JSONResponse:
    """Accept many visits; one bad item does not lose the good ones."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        results = [
            await _batch_item(request, session, principal, index, item) for index, item in enumerate(body.encounters)
        ]
        return 200, BatchResult(
            received=sum(r.status == 202 for r in results),
            already_received=sum(r.status == 200 for r in results),
            refused=sum(r.status >= 400 for r in results),
            results=results,
        )

    return await respond_idempotently(request, principal, use_case)


async def _batch_item(
    request: Request, session: AsyncSession, principal: Any, index: int, item: dict[str, Any]
) -> BatchItemResult:
    """One batch item. An item refused (422, 409) has written nothing (receive_encounter writes its visit, event and
    audit row in its last statement, all or none), so the items need no savepoint each: two statements fewer per
    item, and no prepared statement per savepoint name crowding the connection's statement cache."""
    try:
        encounter = EncounterIn.model_validate(item)
        accepted, created = await encounters.receive_encounter(
            session, principal, encounter, str(uuid.uuid4()), request.app.state.code_sets
        )
    except ValidationError as error:
        errors = field_errors(list(error.errors(include_input=False)))
        return BatchItemResult(
            index=index,
            status=422,
            problem=ItemProblem(
                title="Request is invalid",
                status=422,
                detail="; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5]),
                errors=errors,
            ),
        )
    except Problem as problem:
        return BatchItemResult(
            index=index,
            status=problem.status,
            problem=ItemProblem(
                title=problem.title, status=problem.status, detail=problem.detail, errors=problem.errors
            ),
        )
    return BatchItemResult(
        index=index,
        status=202 if created else 200,
        encounter_id=accepted.encounter_id,
        ehr_encounter_id=accepted.ehr_encounter_id,
        work_queue_flags=accepted.work_queue_flags,
    )


@router.post(
    "/fhir/Bundle",
    status_code=202,
    tags=["encounters"],
    summary="Submit an encounter as a FHIR R4 transaction Bundle",
    description=(
        "A transaction Bundle with one Patient, optionally one Coverage, one Encounter and its Conditions "
        "(FHIR R4; see docs/fhir.md for the mapping). The patient is matched by its EHR identifier (or created), "
        "the coverage by payer and member id (or created), and the encounter is received as POST /v1/encounters "
        "would. Errors name the FHIR path, e.g. `entry[2].resource.code.coding[0].code`."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media_type: {"schema": BUNDLE_SCHEMA, "examples": {"psychotherapy": {"value": BUNDLE_EXAMPLE}}}
                for media_type in FHIR_MEDIA_TYPES
            },
        }
    },
    responses={
        200: {
            "model": FhirBundleAccepted,
            "description": "Already received (same EHR encounter id)",
            "links": ENCOUNTER_LINKS,
        },
        202: {"model": FhirBundleAccepted, "description": "Received", "links": ENCOUNTER_LINKS},
        **problems(409, 415, 422),
    },
)
async def post_fhir_bundle(request: Request, principal: Writer) -> JSONResponse:
    """Accept a visit sent as FHIR R4."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in FHIR_MEDIA_TYPES:
        raise Problem(415, "Unsupported Media Type", "send the Bundle as application/fhir+json or application/json")
    try:
        document = orjson.loads(await request.body())
    except orjson.JSONDecodeError as error:
        raise fhir_mapping.refuse(("Bundle", f"not JSON: {error.msg}")) from None
    correlation_id = _correlation_id(request)

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        accepted, created = await fhir.receive_bundle(
            session, principal, document, correlation_id, request.app.state.code_sets
        )
        return (202 if created else 200), accepted

    return await respond_idempotently(request, principal, use_case)


@router.get(
    "/encounters/{encounter_id}",
    tags=["encounters"],
    summary="Read an encounter",
    responses=problems(404),
)
async def get_encounter(request: Request, encounter_id: uuid.UUID, principal: Follower) -> EncounterView:
    """An encounter of the caller's organization, as intake holds it now."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        found = await encounters.encounter_view(session, encounter_id, principal)
        if found is not None:
            await common.audit(session, principal, "read", "encounter", encounter_id)
    if found is None:
        raise Problem(404, "Not Found", f"encounter {encounter_id} not found")
    return found


@router.post(
    "/encounters/{encounter_id}/amendments",
    tags=["encounters"],
    summary="Amend an encounter (late minutes, corrected diagnoses...)",
    description=(
        "Fields sent replace the stored ones (minutes and flags merge by kind). The visit is validated again, "
        "work-queue flags are recomputed, and `encounter.amended` is emitted with the next amendment number; "
        "coding re-codes the visit. A cancelled encounter cannot be amended (409)."
    ),
    responses={
        200: {"model": EncounterView, "description": "Amended", "links": ENCOUNTER_LINKS},
        **problems(404, 409, 422),
    },
)
async def amend_encounter(
    request: Request, encounter_id: uuid.UUID, body: EncounterAmendmentIn, principal: Writer
) -> JSONResponse:
    """Apply the EHR's correction."""
    correlation_id = _correlation_id(request)

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        view = await amendments.amend_encounter(
            session, principal, encounter_id, body, correlation_id, request.app.state.code_sets
        )
        return 200, view

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/encounters/{encounter_id}/cancel",
    tags=["encounters"],
    summary="Cancel an encounter",
    description="Emits `encounter.cancelled`; coding voids the charge and submission voids a submitted claim.",
    responses={
        200: {"model": EncounterView, "description": "Cancelled", "links": ENCOUNTER_LINKS},
        **problems(404, 409, 422),
    },
)
async def cancel_encounter(
    request: Request, encounter_id: uuid.UUID, body: CancellationIn, principal: Writer
) -> JSONResponse:
    """Withdraw a visit."""
    correlation_id = _correlation_id(request)

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        return 200, await amendments.cancel_encounter(session, principal, encounter_id, body.reason, correlation_id)

    return await respond_idempotently(request, principal, use_case)


@router.get(
    "/work-queues/eligibility",
    tags=["work queues"],
    summary="The eligibility work queue",
    description="Encounters accepted with a coverage problem, with their reasons (paginated by opaque cursor).",
    responses={**problems(422), 200: {"links": _follow_encounter("$response.body#/items/0/encounter_id")}},
)
async def eligibility_queue(
    request: Request,
    principal: Follower,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size (at most 200)")] = 50,
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page")] = None,
) -> EligibilityPage:
    """One page of the eligibility queue of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        return await work_queues.eligibility_queue(session, principal, limit=limit, cursor=cursor)


@router.post(
    "/work-queues/eligibility/{encounter_id}/resolve",
    tags=["work queues"],
    summary="Resolve an eligibility problem after the coverage was fixed",
    description=(
        "Re-checks the patient's coverage on the date of service. When it now passes, the encounter leaves the "
        "queue and `encounter.amended` carries the new coverage snapshot; otherwise 409 says what remains."
    ),
    responses={
        200: {"model": EncounterView, "description": "Resolved", "links": ENCOUNTER_LINKS},
        **problems(404, 409, 422),
    },
)
async def resolve_eligibility(
    request: Request, encounter_id: uuid.UUID, body: ResolutionIn, principal: Writer
) -> JSONResponse:
    """Take an encounter out of the eligibility queue."""
    correlation_id = _correlation_id(request)

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        view = await work_queues.resolve_eligibility(
            session, principal, encounter_id, body.note, correlation_id, request.app.state.code_sets
        )
        return 200, view

    return await respond_idempotently(request, principal, use_case)
