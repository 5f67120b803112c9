"""A device's status as shown: ``online``, ``stale``, ``offline`` or ``unknown``. Pure.

The store keeps what the fleet last said (``online`` true, false, or NULL while the
connector is unreachable) and the device's latest check-in (``last_seen``). ``online`` alone
is not proof: when nobody has read the fleet for a while (no engine running, or an RMM whose
agent stopped checking in while its record still says online), the last word is old. So an
``online`` device whose latest check-in evidence is older than the stale threshold is shown
as ``stale``, never ``online`` beside "last seen 8 h ago".

The check-in evidence of an online device is the later of its ``last_seen`` and the last
time an engine read the fleet (``fleet_read_at``: while an engine holds the lease it reads
the fleet at every step, and an online device it reads is checking in then; the stored
``last_seen`` moves only when the connector reports something new).

The threshold (``stale_after``) defaults to twice the expected check-in interval; no
connector declares its agents' interval, so it is a setting (``checkin_interval_minutes``,
``stale_after_minutes``: ``patchdesk.settings``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Presence(StrEnum):
    ONLINE = "online"
    STALE = "stale"  # said online, but its latest check-in is older than the threshold
    OFFLINE = "offline"
    UNKNOWN = "unknown"  # the connector is unreachable: not offline


DEFAULT_CHECKIN_INTERVAL = timedelta(minutes=15)
DEFAULT_STALE_AFTER = 2 * DEFAULT_CHECKIN_INTERVAL


def presence(
    online: bool | None,
    last_seen: datetime | None,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    fleet_read_at: datetime | None = None,
) -> Presence:
    """The status word for a device at ``now`` (the threshold is inclusive: a check-in
    exactly ``stale_after`` old is still online)."""
    if online is None:
        return Presence.UNKNOWN
    if not online:
        return Presence.OFFLINE
    evidence = [at for at in (last_seen, fleet_read_at) if at is not None]
    if not evidence or now - max(evidence) > stale_after:
        return Presence.STALE
    return Presence.ONLINE
