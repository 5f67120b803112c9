"""A device with an open ``offline`` exception that checks in again: the engine settles it.

An ``offline`` exception says "this device did not come back" (no check-in after its reboot,
or offline for a whole window). Once the device is online again that is no longer true, so
the exception must not stay open as ``offline`` forever. At each step, for every unresolved
``offline`` exception whose device is online now, the engine asks the connector what the
device still misses (``deployments.refresh_missing``, which also records it) and decides by
:func:`after_checkin`:

- none of the exception's patches is missing any more (verified by the connector's report):
  resolved by the engine;
- some are still missing after an install that reported success (the ``no_checkin`` case):
  the patch did not take, so the exception becomes class ``install`` in place: same id,
  owner, state (an acknowledgement is kept) and history, its triage rank follows the class.
  When the device already has an unresolved ``install`` exception, that one is updated with
  the patches and this one is resolved, pointing at it (one per device and class);
- some are still missing and nothing was installed (offline for the whole window, never
  dispatched): there is nothing left to remediate about the device being offline, and the
  patches are carried to the device's next window as any missed target's: resolved, the note
  naming what is still missing.

Each decision is one remediation-log record with actor ``engine`` saying what was found
(``exception.resolve`` or ``exception.reclassify``) and one ``exception.*`` event. A
connector that says nothing about the device leaves the exception as it is.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from patchdesk.domain import FailureClass, TargetState
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.deployments import Candidate, refresh_missing
from patchdesk.engine.step import Step
from patchdesk.store.db import Session
from patchdesk.store.engine_exception_ops import add_patches, reclassify, resolve_by_engine
from patchdesk.store.engine_exception_views import (
    BackOnline,
    offline_back_online,
    unresolved_of,
    vendor_ids_of,
)
from patchdesk.store.events import record_event
from patchdesk.store.remediation_log import LogEntry, append

# ----------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Resolve:
    note: str


@dataclass(frozen=True)
class Reclassify:
    failure_class: FailureClass
    note: str


def after_checkin(
    target_state: TargetState | None,
    still_missing: Collection[str],
    seen_at: datetime | None,
) -> Resolve | Reclassify:
    """What an ``offline`` exception becomes once its device checks in again.

    ``target_state``: the state of the target that opened it (None: no target recorded);
    ``still_missing``: the vendor ids of the exception's patches the device still misses."""
    seen = "checked in again" if seen_at is None else f"checked in again at {_utc(seen_at)}"
    if not still_missing:
        return Resolve(f"device {seen}; its patches are verified installed")
    named = ", ".join(sorted(still_missing))
    if target_state is TargetState.NO_CHECKIN:
        return Reclassify(
            FailureClass.INSTALL,
            f"device {seen} but still misses {named} although the install reported success",
        )
    return Resolve(f"device {seen}; still missing {named}, carried to its next window")


def _utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


# ----------------------------------------------------------------------------- the step


def settle_back_online(step: Step) -> None:
    """Resolve or reclassify every unresolved ``offline`` exception whose device is online."""
    session, now, config, report = step.session, step.now, step.config, step.counts
    found = offline_back_online(session)
    if not found:
        return
    by_client: dict[str, list[BackOnline]] = {}
    for back in found:
        by_client.setdefault(back.client_id, []).append(back)
    for client_id, backs in sorted(by_client.items()):
        candidates = [Candidate(b.device_id, b.connector_id, b.hostname) for b in backs]
        missing = refresh_missing(session, step.connector, client_id, candidates, now)
        for back in backs:
            if back.device_id not in missing:
                continue  # the connector said nothing about it: left as it is
            _settle(session, back, missing[back.device_id], now, config, report)


def _settle(
    session: Session,
    back: BackOnline,
    missing: frozenset[int],
    now: datetime,
    config: EngineConfig,
    report: StepCounts,
) -> None:
    still = sorted(set(back.patch_ids) & missing)
    vendor_ids = vendor_ids_of(session, still)
    seen = back.last_seen if back.last_seen is not None and back.last_seen <= now else now
    decision = after_checkin(back.target_state, vendor_ids, seen)
    if isinstance(decision, Resolve):
        _resolve(session, back, decision.note, now, config)
        report.exceptions_resolved += 1
        return
    other = unresolved_of(session, back.device_id, decision.failure_class)
    if other is not None:  # one unresolved exception per device and class: merge into it
        other_id = other.id
        add_patches(session, other_id, sorted(set(other.patch_ids) | set(still)), now)
        _log(
            session,
            back,
            other_id,
            "exception.update",
            decision.failure_class.value,
            f"{decision.note} (from offline exception {back.exception_id})",
            now,
            config,
        )
        _resolve(
            session,
            back,
            f"{decision.note}: now followed as {decision.failure_class.value} exception {other_id}",
            now,
            config,
        )
        report.exceptions_resolved += 1
        return
    reclassify(session, back.exception_id, decision.failure_class, decision.note, still, now)
    _log(
        session,
        back,
        back.exception_id,
        "exception.reclassify",
        f"offline -> {decision.failure_class.value}",
        decision.note,
        now,
        config,
    )
    _event(
        session,
        back,
        back.exception_id,
        "reclassified",
        now,
        {"from": FailureClass.OFFLINE.value, "to": decision.failure_class.value},
        config.actor,
    )
    report.exceptions_reclassified += 1


def _resolve(
    session: Session, back: BackOnline, note: str, now: datetime, config: EngineConfig
) -> None:
    resolve_by_engine(session, back.exception_id, "resolved by engine", now, via_session=False)
    _log(session, back, back.exception_id, "exception.resolve", "resolved", note, now, config)
    _event(session, back, back.exception_id, "resolved", now, {"class": "offline"}, config.actor)


def _log(
    session: Session,
    back: BackOnline,
    exception_id: int,
    action: str,
    outcome: str,
    note: str,
    now: datetime,
    config: EngineConfig,
) -> None:
    append(
        session,
        LogEntry(
            at=now,
            actor=config.actor,
            operator=config.actor,
            action=action,
            outcome=outcome,
            note=note,
            client_id=back.client_id,
            exception_id=exception_id,
            device_id=back.device_id,
        ),
    )


def _event(
    session: Session,
    back: BackOnline,
    exception_id: int,
    verb: str,
    now: datetime,
    payload: dict[str, str],
    operator: str,
) -> None:
    record_event(
        session,
        at=now,
        kind=f"exception.{verb}",
        entity="exception",
        entity_id=exception_id,
        client_id=back.client_id,
        payload={"device": back.hostname, "operator": operator, **payload},
    )
