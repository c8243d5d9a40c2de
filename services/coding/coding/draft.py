"""The draft an encounter is coded into (lines, holds and notes) and the provider check the coding rules share."""

from __future__ import annotations

from dataclasses import dataclass, field

from coding.coded import CodedLine, Hold
from coding.rulebook import RuleBook
from shared.events.encounter import EncounterFacts


@dataclass
class EncounterDraft:
    """Lines, holds and notes being assembled for one encounter."""

    lines: list[CodedLine] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def hold(self, rule_id: str, reason: str) -> None:
        """Add a hold once per rule id."""
        if all(existing.rule_id != rule_id for existing in self.holds):
            self.holds.append(Hold(rule_id, reason))

    def line(
        self, code: str, rule_id: str, explanation: str, *, units: int = 1, modifiers: tuple[str, ...] = ()
    ) -> None:
        """Add a line (place of service is set later from the place of care)."""
        self.lines.append(CodedLine(code, modifiers, units, "11", (rule_id,), explanation))


def is_prescriber(encounter: EncounterFacts, rules: RuleBook) -> bool:
    """Whether the rendering provider's license allows medical services."""
    return encounter.provider.license_type.upper() in rules.policy["prescriber_license_types"]
