"""A client's approval rules as staged approval reads them (``rules.approval``): a patch's
facts, a rule's match criteria and its action in words.

A rule matches when every criterion it gives holds; a list criterion holds when any of its
values does. Classifications and severities are exact values; vendors, products and patch
ids compare ignoring case; ``title_pattern`` is a regular expression searched in the title
(case-sensitive unless it says ``(?i)``). A stored empty match is the catch-all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from patchdesk.domain import Classification, RuleAction, Severity


@dataclass(frozen=True)
class PatchFacts:
    vendor_id: str
    title: str
    vendor: str
    product: str
    classification: Classification
    severity: Severity
    release_date: date


MATCH_CRITERIA: tuple[str, ...] = (
    "classifications",
    "severities",
    "vendors",
    "products",
    "title_pattern",
    "patch_ids",
)


def _folded(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(str(v).strip().casefold() for v in values)


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True)
class RuleMatch:
    """A rule's criteria; None means "not given". All None: the catch-all."""

    classifications: frozenset[Classification] | None = None
    severities: frozenset[Severity] | None = None
    vendors: frozenset[str] | None = None  # folded
    products: frozenset[str] | None = None  # folded
    patch_ids: frozenset[str] | None = None  # folded
    title_pattern: str | None = None

    @classmethod
    def from_stored(cls, match: Mapping[str, Any]) -> RuleMatch:
        """From a stored ``match`` column; an unknown criterion is refused, never ignored."""
        unknown = sorted(set(match) - set(MATCH_CRITERIA))
        if unknown:
            raise ValueError(f"unknown match criteria: {', '.join(unknown)}")
        classifications = match.get("classifications")
        severities = match.get("severities")
        pattern = match.get("title_pattern")
        return cls(
            classifications=None
            if classifications is None
            else frozenset(Classification(c) for c in classifications),
            severities=None if severities is None else frozenset(Severity(s) for s in severities),
            vendors=_folded(match.get("vendors")),
            products=_folded(match.get("products")),
            patch_ids=_folded(match.get("patch_ids")),
            title_pattern=None if pattern is None else str(pattern),
        )

    def matches(self, patch: PatchFacts) -> bool:
        checks = (
            self.classifications is None or patch.classification in self.classifications,
            self.severities is None or patch.severity in self.severities,
            self.vendors is None or patch.vendor.strip().casefold() in self.vendors,
            self.products is None or patch.product.strip().casefold() in self.products,
            self.patch_ids is None or patch.vendor_id.strip().casefold() in self.patch_ids,
            self.title_pattern is None
            or _compiled(self.title_pattern).search(patch.title) is not None,
        )
        return all(checks)


@dataclass(frozen=True)
class Rule:
    """One approval rule. ``number`` counts from 1, as ``policy export`` numbers them."""

    number: int
    name: str
    match: RuleMatch
    action: RuleAction
    days: int = 0

    def text(self) -> str:
        """E.g. ``rule 2 "Feature upgrades" → defer 90 days after release``."""
        return f'rule {self.number} "{self.name}" → {_action_text(self.action, self.days)}'


def _action_text(action: RuleAction, days: int) -> str:
    if action is RuleAction.AUTO:
        return (
            "auto-approve on release" if days == 0 else f"auto-approve {_days(days)} after release"
        )
    if action is RuleAction.DEFER:
        return f"defer {_days(days)} after release"
    if action is RuleAction.MANUAL:
        return "wait for a technician"
    return "block"


def _days(days: int) -> str:
    return f"{days} day{'' if days == 1 else 's'}"
