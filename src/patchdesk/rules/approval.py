"""Staged approval: may this patch go to this device, from when, and why (pure).

``decide`` takes plain values (the patch, the client's rules and rings, the global block
list, the client's manual decisions on the patch, the device and its ring, the earlier
rings' progress) and an explicit ``now`` (aware UTC), and returns a ``Decision`` with a
reason in words. Precedence, first that applies wins:

1. **Global block list**: an entry for the patch id (compared ignoring case) blocks it for
   every client and device, whatever else was decided, emergencies included.
2. **Manual decisions** for this client and patch override the rules. The newest decision
   *in effect* for the device wins (ties: the later one in the given order). Not in effect:
   a decision made after ``now``; a defer whose ``until`` has passed (the hold is over, so
   the decision before it, or the rules, apply again); an emergency that does not name the
   device (it applies to its chosen devices only).
   - ``emergency`` (for this device): approved at once (from the decision), outside
     maintenance windows, flagged ``emergency``; rings do not apply.
   - ``block``: blocked. ``defer``: deferred until its ``until``.
   - ``approve``: approved from the decision, then the rings apply.
3. **Rules**, in order; the first that matches decides. A rule matches when every criterion
   it gives holds; a list criterion holds when any of its values does. Classifications and
   severities are exact values; vendors, products and patch ids compare ignoring case;
   ``title_pattern`` is a regular expression searched in the title (case-sensitive unless it
   says ``(?i)``). A stored empty match is the catch-all.
   - ``block``: blocked. ``manual``: pending_manual.
   - ``auto`` after N days (N may be 0) and ``defer`` N days: approved from the start of the
     day release_date + N in the client's time zone. Before that instant the state is
     ``deferred`` until it (so ``approved`` always means "may deploy now"); after it,
     approved, and the rings apply.
   - No rule matches: pending_manual.
4. **Rings** (when the client has any, for an approval from 2. or 3.): the device's ring may
   deploy only once every earlier ring passed its gate (``rings.ring_gate``); until then the
   state is ``not_yet`` and says which ring it waits for and why. The approval then starts
   when both the approval and the last earlier ring's soak have started/ended. A device in no
   ring is not deployed: ``pending_manual``, decided by ``no_ring`` (a technician must tag it
   into a ring, or approve it as an emergency).

Listing filters (``StateFilter``): ``pending`` is pending_manual (a technician must act,
including devices in no ring), ``waiting`` is not_yet (nothing to do but wait for the
earlier ring); approved, deferred and blocked are themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from patchdesk.domain import ApprovalDecisionKind, RuleAction
from patchdesk.rules.approval_rules import PatchFacts, Rule
from patchdesk.rules.rings import RingClear, RingProgress, RingSpec, RingWait, ring_gate, when


class ApprovalState(StrEnum):
    APPROVED = "approved"
    PENDING_MANUAL = "pending_manual"
    DEFERRED = "deferred"
    BLOCKED = "blocked"
    NOT_YET = "not_yet"


class StateFilter(StrEnum):
    """The ``--state`` values of ``patchdesk approvals``."""

    PENDING = "pending"
    APPROVED = "approved"
    DEFERRED = "deferred"
    BLOCKED = "blocked"
    WAITING = "waiting"


STATE_FILTER: dict[ApprovalState, StateFilter] = {
    ApprovalState.APPROVED: StateFilter.APPROVED,
    ApprovalState.PENDING_MANUAL: StateFilter.PENDING,
    ApprovalState.DEFERRED: StateFilter.DEFERRED,
    ApprovalState.BLOCKED: StateFilter.BLOCKED,
    ApprovalState.NOT_YET: StateFilter.WAITING,
}


class DecidedBy(StrEnum):
    """What settled a decision."""

    BLOCKLIST = "blocklist"
    EMERGENCY = "emergency"
    MANUAL = "manual"
    RULE = "rule"
    NO_RULE = "no_rule"
    NO_RING = "no_ring"


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockEntry:
    """An entry of the global block list."""

    vendor_id: str
    reason: str
    blocked_by: str
    blocked_at: datetime


class Blocklist:
    """The global block list, looked up by patch id ignoring case."""

    def __init__(self, entries: Iterable[BlockEntry] = ()) -> None:
        self._entries = {entry.vendor_id.strip().casefold(): entry for entry in entries}

    def find(self, vendor_id: str) -> BlockEntry | None:
        return self._entries.get(vendor_id.strip().casefold())

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class ManualDecision:
    """A technician's decision on one patch for one client."""

    kind: ApprovalDecisionKind
    decided_at: datetime
    operator: str
    reason: str = ""
    until: datetime | None = None  # defer
    device_ids: frozenset[int] = frozenset()  # emergency
    id: int | None = None


@dataclass(frozen=True)
class ApprovalPolicy:
    """A client's rules and rings. ``zone``: day-granular dates start at its midnight."""

    rules: tuple[Rule, ...] = ()
    rings: tuple[RingSpec, ...] = ()
    zone: tzinfo = UTC


# --- the decision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What may happen to one patch on one device, and why.

    ``approved_from``: approved and not_yet (when the approval started or starts for this
    device's ring). ``until``: deferred (when it may go), and not_yet while an earlier ring
    soaks. ``ring``: the device's ring, when the ring gate was consulted (approved or not_yet
    with rings). ``rule``: the rule that matched, when a rule decided.
    """

    state: ApprovalState
    decided_by: DecidedBy
    reason: str
    rule: Rule | None = None
    block: BlockEntry | None = None
    manual: ManualDecision | None = None
    approved_from: datetime | None = None
    until: datetime | None = None
    ring: str | None = None
    wait: RingWait | None = None
    emergency: bool = False

    @property
    def filter(self) -> StateFilter:
        return STATE_FILTER[self.state]


@dataclass(frozen=True)
class _Approval:
    """An approval before the rings: from when, settled by what, in words."""

    start: datetime
    decided_by: DecidedBy
    text: str
    rule: Rule | None = None
    manual: ManualDecision | None = None


def first_match(rules: Sequence[Rule], patch: PatchFacts) -> Rule | None:
    return next((rule for rule in rules if rule.match.matches(patch)), None)


def manual_in_effect(
    decisions: Sequence[ManualDecision], device_id: int, now: datetime
) -> ManualDecision | None:
    """The newest decision that applies to the device at ``now`` (see the module docstring)."""
    ordered = sorted(enumerate(decisions), key=lambda item: (item[1].decided_at, item[0]))
    for _, decision in reversed(ordered):
        if decision.decided_at > now:
            continue
        if decision.kind is ApprovalDecisionKind.EMERGENCY and device_id not in decision.device_ids:
            continue
        if decision.kind is ApprovalDecisionKind.DEFER and (
            decision.until is None or decision.until <= now
        ):
            continue
        return decision
    return None


def start_of_day(day: date, zone: tzinfo) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


def until_from_text(text: str, zone: tzinfo) -> datetime:
    """The end of a defer as a person types it (the CLI's ``--until``, the approvals
    screen): a date is 00:00 of that day in ``zone`` (the client's); an ISO 8601 time needs
    a UTC offset. Raises ``ValueError`` saying what is wrong (without naming the field)."""
    text = text.strip()
    if not text:
        raise ValueError("empty: give a date like 2026-12-04")
    if _DATE_TEXT.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a date: {exc}") from None
        return start_of_day(day, zone)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date or an ISO time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} needs a UTC offset, or give a date")
    return parsed.astimezone(UTC)


def decide(
    patch: PatchFacts,
    *,
    device_id: int,
    ring: RingSpec | None,
    policy: ApprovalPolicy,
    blocklist: Blocklist,
    decisions: Sequence[ManualDecision] = (),
    progress: Mapping[str, RingProgress] | None = None,
    now: datetime,
) -> Decision:
    """The decision for ``patch`` on one device (``ring``: the device's ring, or None)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    entry = blocklist.find(patch.vendor_id)
    if entry is not None:
        return _blocklisted(entry)
    manual = manual_in_effect(decisions, device_id, now)
    settled = (
        _by_manual(manual, policy.zone) if manual is not None else _by_rules(patch, policy, now)
    )
    if isinstance(settled, Decision):
        return settled
    return _staged(settled, ring, policy, progress or {}, now)


def _blocklisted(entry: BlockEntry) -> Decision:
    reason = (
        f"blocked by the global block list: {entry.reason} "
        f"(blocked by {entry.blocked_by} on {entry.blocked_at.astimezone(UTC).date()})"
    )
    return Decision(ApprovalState.BLOCKED, DecidedBy.BLOCKLIST, reason, block=entry)


def _by_manual(manual: ManualDecision, zone: tzinfo) -> Decision | _Approval:
    by = f"{manual.operator} on {when(manual.decided_at)}"
    note = f": {manual.reason}" if manual.reason.strip() else ""
    if manual.kind is ApprovalDecisionKind.EMERGENCY:
        reason = f"approved at once as an emergency, outside maintenance windows (by {by}{note})"
        return Decision(
            ApprovalState.APPROVED,
            DecidedBy.EMERGENCY,
            reason,
            manual=manual,
            approved_from=manual.decided_at,
            emergency=True,
        )
    if manual.kind is ApprovalDecisionKind.BLOCK:
        reason = f"blocked by a technician ({by}{note})"
        return Decision(ApprovalState.BLOCKED, DecidedBy.MANUAL, reason, manual=manual)
    if manual.kind is ApprovalDecisionKind.DEFER:
        assert manual.until is not None  # manual_in_effect skips a defer without one
        reason = f"deferred until {_instant(manual.until, zone)} by a technician ({by}{note})"
        return Decision(
            ApprovalState.DEFERRED, DecidedBy.MANUAL, reason, manual=manual, until=manual.until
        )
    text = f"manual approval by {manual.operator}, overriding the rules{note}"
    return _Approval(manual.decided_at, DecidedBy.MANUAL, text, manual=manual)


def _by_rules(patch: PatchFacts, policy: ApprovalPolicy, now: datetime) -> Decision | _Approval:
    rule = first_match(policy.rules, patch)
    if rule is None:
        return Decision(
            ApprovalState.PENDING_MANUAL,
            DecidedBy.NO_RULE,
            "waits for a technician (no approval rule matches)",
        )
    if rule.action is RuleAction.BLOCK:
        return Decision(ApprovalState.BLOCKED, DecidedBy.RULE, f"blocked ({rule.text()})", rule)
    if rule.action is RuleAction.MANUAL:
        return Decision(
            ApprovalState.PENDING_MANUAL,
            DecidedBy.RULE,
            f"waits for a technician ({rule.text()})",
            rule,
        )
    start = start_of_day(patch.release_date + timedelta(days=rule.days), policy.zone)
    if now < start:
        reason = f"deferred until {_instant(start, policy.zone)} ({rule.text()})"
        return Decision(ApprovalState.DEFERRED, DecidedBy.RULE, reason, rule, until=start)
    return _Approval(start, DecidedBy.RULE, rule.text(), rule=rule)


def _staged(
    approval: _Approval,
    ring: RingSpec | None,
    policy: ApprovalPolicy,
    progress: Mapping[str, RingProgress],
    now: datetime,
) -> Decision:
    """Apply the rings to an approval."""
    since = _instant(approval.start, policy.zone)
    if not policy.rings:
        return Decision(
            ApprovalState.APPROVED,
            approval.decided_by,
            f"approved since {since} ({approval.text})",
            approved_from=approval.start,
            rule=approval.rule,
            manual=approval.manual,
        )
    if ring is None:
        names = ", ".join(f'"{r.name}"' for r in policy.rings)
        reason = (
            f"waits for a technician: the device is in no ring ({names}), so it is not "
            f"deployed; tag it into a ring, or approve it as an emergency "
            f"(approved since {since}: {approval.text})"
        )
        return Decision(
            ApprovalState.PENDING_MANUAL,
            DecidedBy.NO_RING,
            reason,
            approved_from=approval.start,
            rule=approval.rule,
            manual=approval.manual,
        )
    gate = ring_gate(ring, policy.rings, progress, now)
    if isinstance(gate, RingWait):
        reason = f'ring "{ring.name}" is {gate.text()}; approved since {since} ({approval.text})'
        return Decision(
            ApprovalState.NOT_YET,
            approval.decided_by,
            reason,
            approved_from=approval.start,
            until=gate.until,
            ring=ring.name,
            wait=gate,
            rule=approval.rule,
            manual=approval.manual,
        )
    return _ring_approved(approval, ring, gate, policy.zone)


def _ring_approved(approval: _Approval, ring: RingSpec, gate: RingClear, zone: tzinfo) -> Decision:
    start = approval.start
    if gate.opens_at is not None and gate.opens_at > start:
        start = gate.opens_at
    if ring.position == 0 or not gate.notes:
        staged = f'ring "{ring.name}" deploys first'
    else:
        staged = f'ring "{ring.name}": ' + "; ".join(gate.notes)
    reason = f"approved since {_instant(start, zone)} ({approval.text}); {staged}"
    return Decision(
        ApprovalState.APPROVED,
        approval.decided_by,
        reason,
        rule=approval.rule,
        manual=approval.manual,
        approved_from=start,
        ring=ring.name,
    )


# --- words ----------------------------------------------------------------------------------


def _instant(at: datetime, zone: tzinfo) -> str:
    """A date when ``at`` is midnight in the client's zone (a day-granular date), else UTC."""
    local = at.astimezone(zone)
    if local.time() == time(0):
        return local.date().isoformat()
    return when(at)
