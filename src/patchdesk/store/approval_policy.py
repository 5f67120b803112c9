"""A client's approval policy as stored, and technicians' standing decisions on patches.

The client's rules, rings, patch scope and time zone, the global block list, and the manual
decisions (approve, block, defer, emergency) on (client, patch) pairs: with the patches its
devices miss (``store.approval_inputs``), what ``rules.approval`` decides from. The engine
reads them as plain rows, not ORM objects (see the note above ``_RULES``).
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from patchdesk.domain import OsFamily, Role
from patchdesk.rules.approval import BlockEntry, Blocklist, ManualDecision
from patchdesk.rules.approval_rules import Rule, RuleMatch
from patchdesk.rules.rings import RingSpec
from patchdesk.rules.scope import Scope, ScopedDevice
from patchdesk.store import direct
from patchdesk.store.models import (
    ApprovalDecision,
    ApprovalRule,
    BlockedPatch,
    Client,
    ClientScope,
    Device,
    Ring,
)

_BLOCKLIST = select(
    BlockedPatch.patch_vendor_id, BlockedPatch.reason, BlockedPatch.blocked_by,
    BlockedPatch.blocked_at,
).order_by(BlockedPatch.id)  # fmt: skip


def load_blocklist(session: Session) -> Blocklist:
    return Blocklist(BlockEntry(*row) for row in direct.rows(session.connection(), _BLOCKLIST))


def client_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Client.id).order_by(Client.id)))


# Rules, rings, scope and zone as plain rows, not ORM objects: the engine loads them each
# time a window opens, and building the objects cost more than the queries. (Read through
# ``direct``, after ``Session.flush``: pending changes are flushed first, as the ORM queries
# and ``Session.execute`` did; a flush with nothing pending costs nothing.)
_RULES = (
    select(ApprovalRule.name, ApprovalRule.match, ApprovalRule.action, ApprovalRule.days)
    .where(ApprovalRule.client_id == bindparam("client"))
    .order_by(ApprovalRule.position)
)
_RINGS = (
    select(Ring.name, Ring.tags, Ring.soak_hours, Ring.min_success_rate)
    .where(Ring.client_id == bindparam("client"))
    .order_by(Ring.position)
)
_SCOPE = select(
    ClientScope.include_roles, ClientScope.include_tags, ClientScope.include_sites,
    ClientScope.include_os, ClientScope.exclude_devices, ClientScope.patch_os,
    ClientScope.third_party,
).where(ClientScope.client_id == bindparam("client"))  # fmt: skip
_TIMEZONE = select(Client.timezone).where(Client.id == bindparam("client"))


def load_rules(session: Session, client_id: str) -> tuple[Rule, ...]:
    session.flush()
    rows = direct.rows(session.connection(), _RULES, {"client": client_id})
    return tuple(
        Rule(number, name, RuleMatch.from_stored(match), action, days)
        for number, (name, match, action, days) in enumerate(rows, start=1)
    )


def load_rings(session: Session, client_id: str) -> tuple[RingSpec, ...]:
    session.flush()
    rows = direct.rows(session.connection(), _RINGS, {"client": client_id})
    return tuple(
        RingSpec.of(position, name, tags, soak_hours, min_success_rate)
        for position, (name, tags, soak_hours, min_success_rate) in enumerate(rows)
    )


def load_scope(session: Session, client_id: str) -> Scope:
    session.flush()
    found = direct.rows(session.connection(), _SCOPE, {"client": client_id})
    if not found:
        return Scope.unrestricted()
    roles, tags, sites, os_families, excluded, patch_os, third_party = found[0]
    return Scope.of(
        include_roles=roles,
        include_tags=tags,
        include_sites=sites,
        include_os=os_families,
        exclude_devices=excluded,
        patch_os=patch_os,
        third_party=third_party,
    )


def scoped_device(device: Device, site: str | None) -> ScopedDevice:
    return ScopedDevice(
        hostname=device.hostname,
        role=Role(device.role),
        os_family=OsFamily(device.os_family),
        site=site,
        tags=tuple(device.tags),
    )


def client_zone(session: Session, client_id: str) -> ZoneInfo | None:
    session.flush()
    found = direct.scalars(session.connection(), _TIMEZONE, {"client": client_id})
    timezone = found[0] if found else None
    return None if timezone is None else ZoneInfo(timezone)


# Manual decisions as plain rows (the engine reads them at every dispatch: no ORM objects).
_DECISIONS = (
    select(
        ApprovalDecision.client_id,
        ApprovalDecision.patch_id,
        ApprovalDecision.decision,
        ApprovalDecision.decided_at,
        ApprovalDecision.operator,
        ApprovalDecision.reason,
        ApprovalDecision.until,
        ApprovalDecision.device_ids,
        ApprovalDecision.id,
    )
    .where(
        ApprovalDecision.client_id.in_(bindparam("clients", expanding=True)),
        ApprovalDecision.patch_id.in_(bindparam("patches", expanding=True)),
    )
    .order_by(ApprovalDecision.decided_at, ApprovalDecision.id)
)


def decisions_of(
    session: Session, pairs: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], list[ManualDecision]]:
    """The manual decisions (oldest first) on each (client id, patch id) pair given: one
    query for all of them."""
    wanted = set(pairs)
    if not wanted:
        return {}
    params = {
        "clients": sorted({client_id for client_id, _ in wanted}),
        "patches": sorted({patch_id for _, patch_id in wanted}),
    }
    found: dict[tuple[str, int], list[ManualDecision]] = {}
    for (
        client_id,
        patch_id,
        kind,
        decided_at,
        operator,
        reason,
        until,
        devices,
        row_id,
    ) in direct.rows(session.connection(), _DECISIONS, params):
        if (client_id, patch_id) in wanted:
            found.setdefault((client_id, patch_id), []).append(
                ManualDecision(
                    kind=kind,
                    decided_at=decided_at,
                    operator=operator,
                    reason=reason,
                    until=until,
                    device_ids=frozenset(devices),
                    id=row_id,
                )
            )
    return found
