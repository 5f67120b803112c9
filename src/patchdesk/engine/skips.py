"""What changed for a pending target between its deployment's opening and its dispatch.

Targets are made when a window opens; a target may wait hours for a free slot or for its
device to come online. Just before dispatch the engine looks again:

- the device went into maintenance mode (*skipped, maintenance mode*): the target
  is ``skipped``;
- some of its patches were blocked meanwhile (the global block list, or the client's
  decision now in effect for the device is a block or a defer) or excluded on the device by
  a technician (``store.exclusions``): those patches are taken out of the target (an event
  names them); when none is left the target is ``skipped``.

Skipped targets are settled, raise no exception, and the device's patches stay missing, so
the next window picks them up again if they are approved by then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from patchdesk.domain import ApprovalDecisionKind
from patchdesk.rules.approval import manual_in_effect
from patchdesk.store.approval_policy import decisions_of, load_blocklist
from patchdesk.store.db import Session
from patchdesk.store.events import record_event
from patchdesk.store.exclusions import active_for_devices
from patchdesk.store.target_ops import drop_patches, skip_pending
from patchdesk.store.target_views import pending_patches

HELD = frozenset({ApprovalDecisionKind.BLOCK, ApprovalDecisionKind.DEFER})


def screen(session: Session, target_ids: Sequence[int], now: datetime) -> list[int]:
    """Skip or trim the given pending targets as above; returns those still to dispatch,
    in the order given."""
    if not target_ids:
        return []
    rows = pending_patches(session, sorted(set(target_ids)))
    blocklist = load_blocklist(session)
    pairs = {(row[2], row[6]) for row in rows}  # (client, patch)
    decisions = decisions_of(session, pairs)
    excluded = active_for_devices(session, {row[1] for row in rows})
    skip: list[tuple[int, str]] = []
    drop: list[tuple[int, int]] = []  # (target patch, its target)
    dropped: dict[int, list[str]] = defaultdict(list)
    kept: dict[int, int] = defaultdict(int)
    info: dict[int, tuple[str, str]] = {}
    in_maintenance: set[int] = set()
    for target_id, device_id, client_id, hostname, maintenance, tp_id, patch_id, vendor in rows:
        info[target_id] = (client_id, hostname)
        if maintenance:
            in_maintenance.add(target_id)
            continue
        held = blocklist.find(vendor) is not None or (device_id, patch_id) in excluded
        if not held:
            manual = manual_in_effect(decisions.get((client_id, patch_id), ()), device_id, now)
            held = manual is not None and manual.kind in HELD
        if held:
            drop.append((tp_id, target_id))
            dropped[target_id].append(vendor)
        else:
            kept[target_id] += 1
    reasons: dict[int, str] = {}
    for target_id in info:
        if target_id in in_maintenance:
            reasons[target_id] = "the device is in maintenance mode"
        elif not kept[target_id]:
            reasons[target_id] = (
                "every patch was blocked, deferred or excluded since the window opened"
            )
    for target_id, reason in sorted(reasons.items()):
        skip.append((target_id, reason))
        client_id, hostname = info[target_id]
        record_event(
            session,
            at=now,
            kind="target.state",
            entity="target",
            entity_id=target_id,
            client_id=client_id,
            payload={"from": "pending", "to": "skipped", "device": hostname, "reason": reason},
        )
    skip_pending(session, skip, now)
    # Skipped targets keep their patches (what they would have installed); the others
    # lose the held ones.
    trimmed = {t: vendors for t, vendors in dropped.items() if t not in reasons}
    drop_patches(session, [tp_id for tp_id, target_id in drop if target_id not in reasons])
    for target_id, vendors in sorted(trimmed.items()):
        client_id, hostname = info[target_id]
        record_event(
            session,
            at=now,
            kind="target.patches_dropped",
            entity="target",
            entity_id=target_id,
            client_id=client_id,
            payload={
                "device": hostname,
                "patches": sorted(vendors),
                "reason": "blocked, deferred or excluded since",
            },
        )
    return [target_id for target_id in target_ids if target_id not in reasons]
