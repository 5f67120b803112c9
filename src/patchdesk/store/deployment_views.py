"""What the engine reads to open and close deployments: the occurrences already deployed,
a window's narrowing, a client's devices and which of them are busy, the open deployments
and which still have unsettled targets.

Plain rows through ``store.direct`` (statements planned once): these reads run at nearly
every step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, bindparam, select

from patchdesk.domain import IN_FLIGHT, DeploymentState, OsFamily, Role, TargetState
from patchdesk.rules.narrowing import Narrowed, Narrowing
from patchdesk.store import direct
from patchdesk.store.db import Session
from patchdesk.store.models import Deployment, Device, MaintenanceWindow, Site, Target
from patchdesk.store.target_states import SETTLED

_DEPLOYED = select(Deployment.window_id, Deployment.occurrence_start).where(
    Deployment.window_id.in_(bindparam("windows", expanding=True)),
    Deployment.occurrence_start.in_(bindparam("starts", expanding=True)),
)


def deployed_occurrences(
    session: Session, window_ids: Sequence[int], starts: Sequence[datetime]
) -> list[tuple[int, datetime]]:
    """(window id, occurrence start) of the deployments of these windows starting then."""
    params = {"windows": window_ids, "starts": starts}
    return [
        (window_id, start)
        for window_id, start in direct.rows(session.connection(), _DEPLOYED, params)
        if window_id is not None
    ]


def stored_window(session: Session, window_id: int) -> Narrowed | None:
    """The stored window (the session's object, read if it holds none)."""
    return session.get(MaintenanceWindow, window_id)


_NARROWING = select(
    MaintenanceWindow.applies_roles, MaintenanceWindow.applies_tags,
    MaintenanceWindow.applies_sites,
).where(MaintenanceWindow.id == bindparam("window"))  # fmt: skip


def window_narrowing(session: Session, window_id: int) -> Narrowing:
    """The window's narrowing lists. Pending changes are flushed first (as loading the
    window's ORM object did: the reads after it see them all)."""
    session.flush()
    found = direct.rows(session.connection(), _NARROWING, {"window": window_id})
    assert found, window_id
    return Narrowing(*found[0])


# Only the client's devices are looked up in the busy set: its busy devices are read through
# the client's devices (a few targets each), not from every pending and in-flight target of
# the fleet (which grows with it).
def _client_busy(states: tuple[TargetState, ...]) -> Select[Any]:
    return (
        select(Target.device_id)
        .join(Device, Target.device_id == Device.id)
        .where(Device.client_id == bindparam("client"), Target.state.in_(states))
    )


_CLIENT_BUSY = _client_busy(IN_FLIGHT)
_CLIENT_BUSY_OR_WAITING = _client_busy((TargetState.PENDING, *IN_FLIGHT))


def busy_devices(session: Session, client_id: str, *, waiting_is_busy: bool) -> set[int]:
    """The client's devices with a target in flight (or, ``waiting_is_busy``, pending)."""
    statement = _CLIENT_BUSY_OR_WAITING if waiting_is_busy else _CLIENT_BUSY
    return set(direct.scalars(session.connection(), statement, {"client": client_id}))


# A device of the client as the opening reads it: the approvals take the first six fields
# (a ``store.approval_inputs.DeviceRow``), ``engine.deployments.reachable`` the last two with them:
# id, hostname, role, os family, tags, site, connector id, maintenance mode.
ClientDevice = tuple[int, str, Role, OsFamily, list[str], str | None, str | None, bool]

_CLIENT_DEVICES = (
    select(
        Device.id, Device.hostname, Device.role, Device.os_family, Device.tags, Site.name,
        Device.connector_id, Device.maintenance_mode,
    )
    .outerjoin(Site, Device.site_id == Site.id)
    .where(Device.client_id == bindparam("client"))
    .order_by(Device.id)
)  # fmt: skip


def client_devices(session: Session, client_id: str) -> list[ClientDevice]:
    """Every device of the client, by id: read once when a window opens, for both the
    devices the window reaches and the approvals (one read of tags and enums, not two).

    Plain rows (``direct``), not ``Session.execute``'s ORM result; pending changes are
    flushed first all the same, as ``Session.execute`` does."""
    session.flush()
    rows = direct.rows(session.connection(), _CLIENT_DEVICES, {"client": client_id})
    return cast(list[ClientDevice], rows)


_OPEN_DEPLOYMENTS = select(
    Deployment.id, Deployment.occurrence_start, Deployment.occurrence_end
).where(Deployment.state == DeploymentState.OPEN)
_UNSETTLED = (
    select(Target.deployment_id)
    .where(
        Target.deployment_id.in_(bindparam("deployments", expanding=True)),
        Target.state.not_in(SETTLED),
    )
    .distinct()
)


def open_deployments(session: Session) -> list[tuple[int, datetime, datetime]]:
    """(id, occurrence start, occurrence end) of every open deployment, by id."""
    return sorted(direct.rows(session.connection(), _OPEN_DEPLOYMENTS))


def unsettled(session: Session, deployment_ids: Sequence[int]) -> set[int]:
    """Those of these deployments with a target not settled yet."""
    if not deployment_ids:
        return set()
    params = {"deployments": deployment_ids}
    return set(direct.scalars(session.connection(), _UNSETTLED, params))


def target_states(
    session: Session, deployment_ids: Collection[int]
) -> Mapping[int, list[TargetState]]:
    """The states of the deployments' targets, by deployment."""
    found: dict[int, list[TargetState]] = defaultdict(list)
    query = select(Target.deployment_id, Target.state).where(
        Target.deployment_id.in_(deployment_ids)
    )
    for deployment_id, state in session.execute(query):
        found[deployment_id].append(state)
    return found
