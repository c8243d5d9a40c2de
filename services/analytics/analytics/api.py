"""Analytics HTTP endpoints: KPIs (JSON and CSV), claim timeline and search, the dashboard page and its links."""

from __future__ import annotations

import base64
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from analytics import dashboard, repository, service
from analytics.claims import ClaimStatus
from analytics.config import AnalyticsSettings, LinkSecretMissing
from analytics.domain import DEFAULT_WINDOW_DAYS, KpiValue, Scope
from analytics.links import LINK_LIFETIME, InvalidLink, LinkGrant, LinkTooLong, sign_link, verify_link
from analytics.models import infra
from analytics.report import to_csv
from analytics.schemas import (
    ClaimSearchItem,
    ClaimSearchPage,
    ClaimTimeline,
    DashboardLink,
    DashboardLinkRequest,
    KpiReport,
    KpiView,
    TimelineEntry,
)
from shared.auth import Principal, require_scope
from shared.dates import CalendarDate
from shared.db import unit_of_work
from shared.openapi import SIGNED_LINK, link, links
from shared.problems import Problem
from shared.replica import refuse_unknown_references

router = APIRouter(prefix="/v1", tags=["kpis"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
AsOf = Annotated[CalendarDate | None, Query(description="Business date D; default: the latest one in the events")]
LINKS_OFF = {"description": "No dashboard link secret is configured, so links are neither signed nor verified"}
WindowDays = Annotated[int, Query(ge=1, le=366, description="Length of the KPI window in days (default 30)")]


def _practice_for(principal: Principal, practice_id: uuid.UUID | None) -> uuid.UUID | None:
    """The practice to slice by, checked against a key limited to some practices."""
    if practice_id is not None:
        if not principal.may_access_practice(practice_id):
            raise Problem(403, "Forbidden", "this API key is not allowed to read that practice")
        return practice_id
    if len(principal.practice_ids) == 1:
        return next(iter(principal.practice_ids))
    if principal.practice_ids:
        raise Problem(403, "Forbidden", "this API key is limited to some practices: pass practice_id")
    return None


@dataclass
class KpiQuery:
    """Query parameters of the KPI endpoints: the business date, the window and the slice."""

    as_of: AsOf = None
    practice_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    program: str | None = None
    window_days: WindowDays = DEFAULT_WINDOW_DAYS


async def _report(request: Request, principal: Principal, query: KpiQuery) -> tuple[KpiReport, list[KpiValue]]:
    """The KPI report of the caller's organization, sliced as asked (with the domain values for CSV)."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await refuse_unknown_references(
            session,
            infra,
            principal.practice_ids,
            practice_id=("practice", query.practice_id),
            provider_id=("provider", query.provider_id),
            payer_id=("payer", query.payer_id),
        )
        practice = _practice_for(principal, query.practice_id)
        scope = Scope(
            practice_id=practice, provider_id=query.provider_id, payer_id=query.payer_id, program=query.program
        )
        computed = await service.compute_kpis(
            session,
            organization_id=principal.organization_id,
            as_of=query.as_of,
            window_days=query.window_days,
            scope=scope,
        )
    if computed is None:
        raise Problem(404, "Not Found", "no business events for this organization yet; pass as_of")
    day, values = computed
    report = KpiReport(
        organization_id=principal.organization_id,
        as_of=day,
        window_days=query.window_days,
        practice_id=practice,
        provider_id=query.provider_id,
        payer_id=query.payer_id,
        program=query.program,
        kpis=[KpiView.model_validate(asdict(value)) for value in values],
    )
    return report, values


def _csv_response(report: KpiReport, values: list[KpiValue]) -> Response:
    """A KPI report as a CSV download."""
    slice_columns = {
        "organization_id": str(report.organization_id),
        "practice_id": str(report.practice_id or ""),
        "provider_id": str(report.provider_id or ""),
        "payer_id": str(report.payer_id or ""),
        "program": report.program or "",
        "window_days": str(report.window_days),
    }
    body = to_csv(report.as_of, values, slice_columns=slice_columns)
    filename = f"kpis-{report.as_of.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/kpis",
    summary="KPIs as of a business date (DOMAIN.md section 6 definitions); ?format=csv for CSV",
    response_model=KpiReport,
    responses={
        200: {"content": {"text/csv": {}}},
        404: {"description": "The organization has no events yet and no as_of was given"},
    },
)
async def get_kpis(
    request: Request,
    principal: Reader,
    query: Annotated[KpiQuery, Depends()],
    format: Literal["json", "csv"] = "json",
) -> KpiReport | Response:
    """Every KPI with its definition, numerator and denominator (counts and amounts)."""
    report, values = await _report(request, principal, query)
    return _csv_response(report, values) if format == "csv" else report


@router.get("/kpis.csv", summary="KPIs as CSV (same parameters as /v1/kpis)", response_class=Response)
async def get_kpis_csv(request: Request, principal: Reader, query: Annotated[KpiQuery, Depends()]) -> Response:
    """One CSV row per KPI and variant."""
    report, values = await _report(request, principal, query)
    return _csv_response(report, values)


@router.get(
    "/claims/{claim_id}/timeline",
    summary="Every event of a claim across services, in business-date order",
    responses={404: {"description": "No such claim in this organization"}},
)
async def get_claim_timeline(request: Request, claim_id: str, principal: Reader) -> ClaimTimeline:
    """Encounter, charge, claim, acknowledgement, remittance, denial, appeal and correction events of a claim."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        entries = await service.claim_timeline(session, claim_id)
    practices = {e["practice_id"] for e in entries if e["practice_id"] is not None}
    if not entries or any(not principal.may_access_practice(p) for p in practices):
        raise Problem(404, "Not Found", f"claim {claim_id} not found")
    return ClaimTimeline(claim_id=claim_id, events=[TimelineEntry.model_validate(e) for e in entries])


def _cursor_of(day: date, claim_id: str) -> str:
    return base64.urlsafe_b64encode(f"{day.isoformat()}|{claim_id}".encode()).decode()


def _parse_cursor(cursor: str) -> tuple[date, str]:
    try:
        day, _, claim_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return date.fromisoformat(day), claim_id
    except (ValueError, UnicodeDecodeError) as error:
        raise Problem(
            422,
            "Request is invalid",
            "cursor: not a cursor this API returned",
            errors=[{"field": "cursor", "pointer": "/cursor", "reason": "not a cursor this API returned"}],
            problem_type="urn:claimflow:problem:validation",
        ) from error


@router.get(
    "/claims",
    summary="Search claims by patient, practice, payer, provider, status and date of service",
    responses=links(
        200,
        GetTimeline=link(
            "GET",
            "/v1/claims/{claim_id}/timeline",
            description="The first claim's timeline",
            parameters={"path.claim_id": "$response.body#/items/0/claim_id"},
        ),
    ),
)
async def search_claims(
    request: Request,
    principal: Reader,
    patient_id: uuid.UUID | None = None,
    practice_id: uuid.UUID | None = None,
    payer_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    status: Annotated[ClaimStatus | None, Query(description="Current status of the claim")] = None,
    date_from: Annotated[CalendarDate | None, Query(description="Date of service on or after")] = None,
    date_to: Annotated[CalendarDate | None, Query(description="Date of service on or before")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ClaimSearchPage:
    """Claims of the caller's organization (and of its practices, for a limited key), paginated by keyset."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Problem(
            422,
            "Request is invalid",
            "date_to: must be on or after date_from",
            errors=[{"field": "date_to", "pointer": "/date_to", "reason": "must be on or after date_from"}],
            problem_type="urn:claimflow:problem:validation",
        )
    if practice_id is not None:
        practices: list[uuid.UUID] | None = [practice_id] if principal.may_access_practice(practice_id) else []
    else:
        practices = sorted(principal.practice_ids) if principal.practice_ids else None
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await refuse_unknown_references(
            session,
            infra,
            principal.practice_ids,
            practice_id=("practice", practice_id),
            provider_id=("provider", provider_id),
            payer_id=("payer", payer_id),
        )
        rows = await repository.search_claims(
            session,
            practice_ids=practices,
            payer_id=payer_id,
            patient_id=patient_id,
            provider_id=provider_id,
            status=status,
            date_from=date_from,
            date_to=date_to,
            after=_parse_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
    items = [ClaimSearchItem.model_validate(row._asdict()) for row in rows[:limit]]
    next_cursor = _cursor_of(items[-1].date_of_service, items[-1].claim_id) if len(rows) > limit else None
    return ClaimSearchPage(items=items, next_cursor=next_cursor)


@router.post(
    "/dashboard-links",
    status_code=201,
    summary="A dashboard URL with a token valid for 15 minutes (or lifetime_minutes, up to the configured maximum)",
    responses={
        **links(
            201,
            OpenDashboard=link(
                "GET",
                "/v1/dashboard",
                description="Open the dashboard with the link's token, for the practice the link was made for",
                parameters={"query.token": "$response.body#/token", "query.practice_id": "$request.body#/practice_id"},
            ),
        ),
        503: LINKS_OFF,
    },
)
async def create_dashboard_link(request: Request, principal: Reader, body: DashboardLinkRequest) -> DashboardLink:
    """Sign a short-lived link so a browser can open the dashboard without holding the API key."""
    settings: AnalyticsSettings = request.app.state.settings
    secret = _link_secret(settings)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await refuse_unknown_references(
            session, infra, principal.practice_ids, practice_id=("practice", body.practice_id)
        )
    practice = _practice_for(principal, body.practice_id)
    issued_at = datetime.now(UTC).replace(microsecond=0)
    lifetime = LINK_LIFETIME if body.lifetime_minutes is None else timedelta(minutes=body.lifetime_minutes)
    grant = LinkGrant(
        organization_id=principal.organization_id,
        key_id=principal.key_id,
        practice_ids=principal.practice_ids,
        practice_id=practice,
        as_of=body.as_of,
        expires_at=issued_at + lifetime,
        issued_at=issued_at,
    )
    try:
        token = sign_link(grant, secret, max_lifetime=settings.dashboard_link_max_lifetime)
    except LinkTooLong as error:
        raise Problem(
            422,
            "Request is invalid",
            f"lifetime_minutes: {error}",
            errors=[{"field": "lifetime_minutes", "pointer": "/lifetime_minutes", "reason": str(error)}],
            problem_type="urn:claimflow:problem:validation",
        ) from error
    url = str(request.url_for("get_dashboard").include_query_params(token=token))
    return DashboardLink(url=url, token=token, expires_at=grant.expires_at)


def _link_secret(settings: AnalyticsSettings) -> bytes:
    """The dashboard link secret, or a 503 saying it must be configured (links are never signed with anything
    else)."""
    try:
        return settings.link_secret()
    except LinkSecretMissing as error:
        raise Problem(
            503,
            "Service Unavailable",
            "dashboard links are turned off: no signing secret is configured (CLAIMFLOW_DASHBOARD_LINK_SECRET)",
        ) from error


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    summary="KPI tiles with targets and trends (HTML)",
    responses={404: {"description": "No business events for this organization yet"}, 503: LINKS_OFF},
    openapi_extra=SIGNED_LINK,
)
async def get_dashboard(
    request: Request,
    token: Annotated[str, Query(description="Token of a link from POST /v1/dashboard-links")],
    practice_id: uuid.UUID | None = None,
    as_of: AsOf = None,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
) -> HTMLResponse:
    """The billing managers' page for one organization, or one of its practices."""
    settings: AnalyticsSettings = request.app.state.settings
    try:
        grant = verify_link(
            token, _link_secret(settings), now=datetime.now(UTC), max_lifetime=settings.dashboard_link_max_lifetime
        )
    except InvalidLink as error:
        raise Problem(401, "Unauthorized", str(error)) from error
    chosen = practice_id or grant.practice_id
    if chosen is not None and grant.practice_ids and chosen not in grant.practice_ids:
        raise Problem(403, "Forbidden", "this link is not allowed to show that practice")
    if chosen is None and len(grant.practice_ids) == 1:
        chosen = next(iter(grant.practice_ids))
    elif chosen is None and grant.practice_ids:
        raise Problem(403, "Forbidden", "this link is limited to some practices: pass practice_id")
    async with unit_of_work(request.app.state.sessions, grant.organization_id) as session:
        if not await repository.api_key_active(session, grant.key_id):
            raise Problem(401, "Unauthorized", "the API key behind this link is revoked")
        await refuse_unknown_references(session, infra, grant.practice_ids, practice_id=("practice", practice_id))
        day = as_of or grant.as_of or await repository.latest_business_date(session, grant.organization_id)
        if day is None:
            raise Problem(404, "Not Found", "no business events for this organization yet")
        ledger = await service.ledger_as_of(session, day)
        practices = await repository.practice_names(session)
    if grant.practice_ids:
        practices = [p for p in practices if p[0] in grant.practice_ids]
    scope = Scope(practice_id=chosen)
    page = dashboard.render_page(
        organization_id=grant.organization_id,
        practices=practices,
        practice_id=chosen,
        as_of=day,
        window_days=window_days,
        tiles=dashboard.tiles(ledger, as_of=day, window_days=window_days, scope=scope),
        token=token,
    )
    return HTMLResponse(page)
