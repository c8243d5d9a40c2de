"""Adjustment classes (DOMAIN.md 5.2) and denial root causes (5.3) as data, with their lookups. No I/O.

Codes missing from these tables are never guessed: an unknown (group, CARC) falls to the group's default class
(denial for CO/OA/PI, patient-billable denial for PR) and its root cause is `unclassified`, reported so the table
gets extended. The wording of owners and actions is the product's own, not X12's code descriptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

AdjustmentClass = Literal["cost_share", "contractual", "informational", "denial_patient", "denial"]
DENIAL_CLASSES: frozenset[str] = frozenset({"denial", "denial_patient"})

# 5.2: (group, CARC) -> class. Rows listed explicitly; everything else falls to GROUP_DEFAULT_CLASS.
ADJUSTMENT_CLASSES: dict[tuple[str, str], AdjustmentClass] = {
    ("PR", "1"): "cost_share",  # deductible
    ("PR", "2"): "cost_share",  # coinsurance
    ("PR", "3"): "cost_share",  # copay
    ("PR", "66"): "cost_share",  # blood deductible
    ("CO", "45"): "contractual",  # over the fee schedule
    ("CO", "253"): "contractual",  # sequestration
    ("CO", "59"): "contractual",  # multiple-procedure reduction
    ("CO", "24"): "contractual",  # capitation
    ("CO", "94"): "contractual",  # processed over charges
    ("CO", "131"): "contractual",  # negotiated discount
    ("CO", "A2"): "contractual",  # contractual adjustment
    ("OA", "23"): "informational",  # prior payer's adjudication
}
GROUP_DEFAULT_CLASS: dict[str, AdjustmentClass] = {
    "PR": "denial_patient",
    "CO": "denial",
    "OA": "denial",
    "PI": "denial",
}
# 5.2: claim status (CLP02) classes: 4 is a denial; 19-21 processed and forwarded are informational.
CLAIM_STATUS_CLASSES: dict[str, AdjustmentClass] = {
    "4": "denial",
    "19": "informational",
    "20": "informational",
    "21": "informational",
}

TELEHEALTH_MODIFIERS: frozenset[str] = frozenset({"95", "93", "FQ", "GT", "GQ"})


@dataclass(frozen=True)
class AdjustmentClassification:
    """The class of one adjustment and whether the table knew the group at all."""

    adjustment_class: AdjustmentClass
    known_group: bool

    @property
    def is_denial(self) -> bool:
        """Whether this class counts as a denial."""
        return self.adjustment_class in DENIAL_CLASSES


def classify_adjustment(group: str, carc: str) -> AdjustmentClassification:
    """Class of a (group, CARC) adjustment; an unknown group is a denial, never a guess."""
    explicit = ADJUSTMENT_CLASSES.get((group, carc))
    if explicit is not None:
        return AdjustmentClassification(explicit, True)
    default = GROUP_DEFAULT_CLASS.get(group)
    return AdjustmentClassification(default or "denial", default is not None)


def claim_status_class(status_code: str) -> AdjustmentClass | None:
    """Class of a claim status (CLP02), or None for processed claims (1, 2, 3, 22, 23, 25)."""
    return CLAIM_STATUS_CLASSES.get(status_code)


@dataclass(frozen=True)
class RootCause:
    """A denial root cause with the team that owns it and the first thing to do."""

    name: str
    owner: str
    first_action: str


UNCLASSIFIED = RootCause(
    "unclassified", "billing", "code not in the root-cause table yet: review it and extend the table"
)


@dataclass(frozen=True)
class RootCauseRule:
    """One row of 5.3: a CARC (with its groups, None for any) or a RARC leads to a root cause.

    `telehealth` narrows a row to lines billed as telehealth (True) or not (False); None matches both.
    """

    kind: Literal["CARC", "RARC"]
    code: str
    groups: frozenset[str] | None
    root_cause: RootCause
    telehealth: bool | None = None


def _rules(
    root_cause: RootCause,
    codes: Iterable[str],
    *,
    groups: Iterable[str] | None = ("CO",),
    kind: Literal["CARC", "RARC"] = "CARC",
    telehealth: bool | None = None,
) -> list[RootCauseRule]:
    group_set = frozenset(groups) if groups is not None else None
    return [RootCauseRule(kind, code, group_set, root_cause, telehealth) for code in codes]


AUTH_MISSING = RootCause(
    "authorization_missing", "intake", "add the auth number and send a corrected claim, or request retro auth"
)
AUTH_DENIED = RootCause(
    "authorization_denied", "clinician", "appeal the authorization decision (peer-to-peer); resending does not help"
)
AUTH_EXHAUSTED = RootCause(
    "authorization_exhausted", "intake and clinician", "request continuation; appeal under concurrent care"
)
CARVE_OUT = RootCause("not_covered", "intake", "submit to the behavioral-health plan yourself")
FORWARDED = RootCause("not_covered", "intake", "already forwarded to the behavioral-health plan: wait, do not re-bill")
NOT_A_BENEFIT = RootCause("not_covered", "intake", "re-bill to the right plan, or bill the patient where allowed")
VISIT_LIMIT = RootCause("visit_limit", "intake and billing", "check benefits; parity appeal or patient responsibility")
TELEHEALTH = RootCause("telehealth", "coding", "fix place of service or modifier and send a corrected claim")
CREDENTIALING = RootCause("provider_not_credentialed", "credentialing", "fix the enrollment; do not appeal")
ELIGIBILITY = RootCause("eligibility", "front desk", "re-verify coverage and bill the right primary")
CODING = RootCause("coding", "coding", "send a corrected claim")
TIMELY_FILING = RootCause("timely_filing", "billing", "appeal only with proof of timely submission (999/277CA dates)")
DUPLICATE = RootCause("duplicate", "billing", "check the original; never resend as a new original")
MEDICAL_NECESSITY = RootCause("medical_necessity", "clinician", "appeal with records")

ROOT_CAUSE_RULES: tuple[RootCauseRule, ...] = (
    *_rules(AUTH_MISSING, ("197", "15", "284", "296")),
    *_rules(AUTH_MISSING, ("M62", "N54"), groups=None, kind="RARC"),
    *_rules(AUTH_DENIED, ("39",)),
    *_rules(AUTH_EXHAUSTED, ("198", "302")),
    *_rules(AUTH_EXHAUSTED, ("N362",), groups=None, kind="RARC"),
    *_rules(CARVE_OUT, ("301", "109")),
    *_rules(FORWARDED, ("300",)),
    *_rules(NOT_A_BENEFIT, ("96", "204")),
    *_rules(VISIT_LIMIT, ("119",), groups=("CO", "PR")),
    *_rules(VISIT_LIMIT, ("151", "273")),
    *_rules(TELEHEALTH, ("5", "58")),
    *_rules(TELEHEALTH, ("4",), telehealth=True),
    *_rules(CREDENTIALING, ("B7", "170", "185", "242", "206", "207", "208")),
    *_rules(ELIGIBILITY, ("27",), groups=("CO", "PR")),
    *_rules(ELIGIBILITY, ("26",), groups=("PR",)),
    *_rules(ELIGIBILITY, ("31", "22")),
    *_rules(CODING, ("4",), telehealth=False),
    *_rules(CODING, ("11", "16", "97", "231", "236")),
    *_rules(CODING, ("M15", "M51", "M76"), groups=None, kind="RARC"),
    *_rules(TIMELY_FILING, ("29",)),
    *_rules(DUPLICATE, ("18",), groups=("OA",)),
    *_rules(DUPLICATE, ("B13",), groups=None),
    *_rules(MEDICAL_NECESSITY, ("50", "167", "252", "226")),
)


def _matches(rule: RootCauseRule, group: str | None, telehealth: bool) -> bool:
    group_ok = rule.groups is None or (group is not None and group in rule.groups)
    return group_ok and (rule.telehealth is None or rule.telehealth == telehealth)


def root_cause_of(
    group: str | None, carc: str | None, remark_codes: Iterable[str] = (), *, telehealth: bool = False
) -> RootCause:
    """Root cause of a denial: a mapped RARC first (more specific), then the CARC with its group, else unclassified."""
    remarks = list(remark_codes)
    for remark in remarks:
        for rule in ROOT_CAUSE_RULES:
            if rule.kind == "RARC" and rule.code == remark and _matches(rule, group, telehealth):
                return rule.root_cause
    if carc is not None:
        for rule in ROOT_CAUSE_RULES:
            if rule.kind == "CARC" and rule.code == carc and _matches(rule, group, telehealth):
                return rule.root_cause
    return UNCLASSIFIED


def is_telehealth(modifiers: Iterable[str]) -> bool:
    """Whether a line was billed as telehealth, judged by its modifiers (the 835 carries no place of service)."""
    return any(modifier in TELEHEALTH_MODIFIERS for modifier in modifiers)
