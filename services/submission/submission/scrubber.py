"""The pre-submission scrubber (DOMAIN.md section 4): runs every edit over a claim and collects the findings.

Each edit is a pure function `(ScrubInput) -> list[ScrubEdit]` returning findings with a rule id, a severity and a
plain-language reason. Error-level findings hold the claim; warnings travel with it in `claim.submitted`.
`SCRUBBER_EDITS` lists the edits in the order they run: the payer-policy edits live in `payer_edits`, the coding and
claim-data edits in `coding_edits`, the input they read in `scrub_input`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.events.claim import ScrubEdit
from submission.coding_edits import edit_coding_pairs, edit_diagnosis, edit_duplicate, edit_lines, edit_provider_data
from submission.payer_edits import (
    edit_authorization_exhausted,
    edit_authorization_missing,
    edit_carve_out,
    edit_claim_filing_indicator,
    edit_credentialing,
    edit_eligibility,
    edit_telehealth,
    edit_timely_filing,
    edit_visit_limit,
)
from submission.scrub_input import ScrubInput


@dataclass(frozen=True)
class ScrubResult:
    """Every edit that fired; the claim is held when any of them is an error."""

    edits: tuple[ScrubEdit, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when no error-level edit fired (warnings do not hold a claim)."""
        return not any(edit.severity == "error" for edit in self.edits)

    @property
    def errors(self) -> list[ScrubEdit]:
        """The error-level edits, the reasons a claim is held."""
        return [edit for edit in self.edits if edit.severity == "error"]


ScrubberEdit = Callable[[ScrubInput], list[ScrubEdit]]

SCRUBBER_EDITS: tuple[ScrubberEdit, ...] = (
    edit_eligibility,
    edit_claim_filing_indicator,
    edit_carve_out,
    edit_authorization_missing,
    edit_authorization_exhausted,
    edit_visit_limit,
    edit_telehealth,
    edit_credentialing,
    edit_coding_pairs,
    edit_diagnosis,
    edit_lines,
    edit_provider_data,
    edit_timely_filing,
    edit_duplicate,
)


def scrub_claim(scrub: ScrubInput, edits: Sequence[ScrubberEdit] = SCRUBBER_EDITS) -> ScrubResult:
    """Run every scrubber edit over a claim."""
    return ScrubResult(tuple(found for edit in edits for found in edit(scrub)))
