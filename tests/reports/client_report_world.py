"""A small client patched by the real engine on the scripted fleet, in New York time, where
every free-text field the database has holds a marker: technicians' notes of every kind
(acknowledge, assign, notes, remediation, escalation, resolve, reopen), operator and owner
names, escalation targets, manual outcomes, approval reasons (defer, block, emergency),
the global block list's reason, a patch exclusion's reason and lift note, a maintenance
override's note, a handover note, a blackout's reason, the scope's notes and an approval
rule's name; the engine's own wording (exception summaries, target error messages and codes,
command results) is there as the engine writes it, and the connector's error texts are
replaced by markers too.

Failures of every class: an install that fails (retried by a technician after the window
closed, then verified), a reboot that never comes back, a device lost after its reboot, a
health check broken by the patch, a device offline for its whole window, a user who
defers.

``MARKERS`` maps each field to the marker placed in it; ``ENGINE_TEXTS`` are read back from
the database after the run (the engine's own sentences).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from patchdesk.connectors.base import MissingPatch
from patchdesk.domain import (
    ApprovalDecisionKind,
    Classification,
    FailureClass,
    Severity,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.reconcile import Reconciler
from patchdesk.policy.load import PolicySet, load_sources
from patchdesk.store import device_ops, exclusions
from patchdesk.store import exception_ops as ops
from patchdesk.store.approval_ops import DecisionRequest, record_decision
from patchdesk.store.blocklist import add_to_blocklist
from patchdesk.store.db import Database
from patchdesk.store.handover import add_handover_note
from patchdesk.store.inventory_ops import apply_inventory
from patchdesk.store.models import (
    Device,
    OperatorRequest,
    Patch,
    PatchException,
    RemediationRecord,
    Target,
    TargetPatch,
)
from patchdesk.store.policy_ops import apply_policies
from tests.connectors.fakefleet import PATCH, FakeFleet
from tests.factories import inventory_row

CLIENT = "acme"
OTHER = MissingPatch(
    vendor_id="KB5071999",
    title="2026-11 .NET Framework update (KB5071999)",
    vendor="Microsoft",
    product="Windows 11",
    classification=Classification.SECURITY,
    severity=Severity.IMPORTANT,
    release_date=date(2026, 11, 10),
    reboot_required=False,
)
# 21:00 in New York (EST) on Thursday 26 November 2026.
WINDOW_OPENS = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
OFFLINE_UNTIL = datetime(2027, 1, 1, tzinfo=UTC)

# Each marker is letters only (no format escapes it) and unique to its field.
MARKERS = {
    "scope notes": "Zqscopenotes",
    "approval rule name": "Zqrulename",
    "blackout reason": "Zqblackout",
    "acknowledging operator": "Zqopann",
    "assigning operator": "Zqopbo",
    "assignee": "Zqopcyd",
    "assign note": "Zqassignnote",
    "note": "Zqplainnote",
    "remediation note": "Zqremednote",
    "manual outcome": "Zqoutcome",
    "escalation note": "Zqescnote",
    "escalated to": "Zqesctarget",
    "resolve note": "Zqresolvenote",
    "reopen note": "Zqreopennote",
    "block reason": "Zqblockreason",
    "defer reason": "Zqdeferreason",
    "emergency reason": "Zqemergreason",
    "emergency operator": "Zqopdee",
    "global block reason": "Zqglobalreason",
    "global block operator": "Zqopeve",
    "exclusion reason": "Zqexclreason",
    "exclusion lift note": "Zqliftnote",
    "maintenance note": "Zqmaintnote",
    "maintenance operator": "Zqopfay",
    "handover note": "Zqhandover",
    "error message": "Zqerrormessage",
    "error code": "Zqerrorcode",
    "patch error code": "Zqpatcherror",
    "exception summary": "Zqsummary",
    "command result": "Zqcommandresult",
}
M = MARKERS

POLICY = f"""
[client]
id = "{CLIENT}"
name = "Acme Dental"
timezone = "America/New_York"
sla_tier = "gold"

[client.scope]
notes = "{M["scope notes"]}: patched with care"

[[client.windows]]
name = "Nightly"
recurrence = {{ type = "weekly", days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] }}
start = "21:00"
duration = "4h"
reboot = "always"
max_deferrals = 2
deferral_minutes = 30
checkin_timeout = "30m"
max_concurrent = 10
blackouts = [{{ from = 2026-12-24, to = 2026-12-26, reason = "{M["blackout reason"]} freeze" }}]

[[client.approval_rules]]
name = "{M["approval rule name"]} everything"
match = {{ any = true }}
action = "auto"
"""

DEVICES = {
    "OK01": {},
    "INST01": {"install": "fail"},
    "BOOT01": {"reboot": "hang"},
    "LOST01": {"reboot": "lost"},
    "HEALTH01": {"health_fails_after_reboot": ("app:practice-management",)},
    "OFF01": {},  # offline: see OFFLINE_UNTIL
    "DEFER01": {"defers": 9, "missing": [PATCH, OTHER]},
}


@dataclass
class ClientWorld:
    db: Database
    fleet: FakeFleet
    engine: Reconciler
    now: datetime
    engine_texts: set[str] = field(default_factory=set)

    def clock(self) -> datetime:
        return self.now

    def run(self, minutes: int) -> None:
        for _ in range(minutes):
            self.engine.step(self.now)
            self.now += timedelta(minutes=1)

    def exception(self, hostname: str, failure_class: FailureClass) -> int:
        with self.db.session() as session:
            found = session.scalars(
                select(PatchException.id)
                .join(Device, Device.id == PatchException.device_id)
                .where(Device.hostname == hostname, PatchException.failure_class == failure_class)
            ).one()
        return int(found)


def _policies() -> PolicySet:
    loaded = load_sources([("acme.toml", POLICY)])
    assert isinstance(loaded, PolicySet), loaded
    return loaded


def build(db: Database) -> ClientWorld:
    holder: list[ClientWorld] = []
    fleet = FakeFleet(lambda: holder[0].now)
    engine = Reconciler(db, fleet, holder="test-engine", config=EngineConfig(install_retries=0))
    world = ClientWorld(db, fleet, engine, WINDOW_OPENS - timedelta(minutes=5))
    holder.append(world)
    with db.writer() as session:
        apply_policies(session, _policies(), now=world.now, operator="tester")
    rows = [
        inventory_row(n, CLIENT, hostname, site="Boston")
        for n, hostname in enumerate(DEVICES, start=2)
    ]
    with db.writer() as session:
        apply_inventory(session, rows, now=world.now)
    for hostname, behaviour in DEVICES.items():
        fleet.add(f"cid-{hostname}", **behaviour)
    fleet.devices_by_id["cid-OFF01"].online_from = OFFLINE_UNTIL
    world.run(5 * 60)  # the whole window (21:00-01:00 EST) and an hour after
    _technicians(world)
    _engine_texts(world)
    return world


def _technicians(w: ClientWorld) -> None:
    install = w.exception("INST01", FailureClass.INSTALL)
    reboot = w.exception("BOOT01", FailureClass.REBOOT)
    lost = w.exception("LOST01", FailureClass.OFFLINE)
    health = w.exception("HEALTH01", FailureClass.REGRESSION)
    offline = w.exception("OFF01", FailureClass.OFFLINE)
    ann, bo, cyd = M["acknowledging operator"], M["assigning operator"], M["assignee"]

    ops.acknowledge(w.db, install, ann, now=w.now)
    ops.add_note(w.db, install, ann, f"{M['note']}: cache looks corrupt", now=w.now)
    ops.log_remediation(
        w.db, install, ann, "clear_update_cache", now=w.now, note=f"{M['remediation note']} ok"
    )
    # The window closed hours ago: the technician retries now, and this time it installs.
    w.fleet.devices_by_id["cid-INST01"].install = "ok"
    ops.log_remediation(w.db, install, ann, "retry_install", now=w.now, note=M["remediation note"])
    w.run(60)
    ops.resolve(w.db, install, ann, f"{M['resolve note']} verified by hand", now=w.now)

    ops.assign(w.db, reboot, bo, cyd, now=w.now, note=M["assign note"])
    ops.log_remediation(w.db, reboot, cyd, "force_reboot", now=w.now)
    w.run(2)
    ops.escalate(w.db, reboot, cyd, now=w.now, note=M["escalation note"], to=M["escalated to"])

    ops.log_remediation(w.db, lost, bo, "wake_on_lan", now=w.now, note=M["remediation note"])
    ops.log_remediation(
        w.db, lost, bo, "contact_site", now=w.now, outcome=f"{M['manual outcome']} no answer"
    )
    w.run(2)

    with w.db.writer() as session:
        record_decision(
            session,
            DecisionRequest(
                client_id=CLIENT,
                patch_id=OTHER.vendor_id,
                kind=ApprovalDecisionKind.DEFER,
                operator=ann,
                reason=f"{M['defer reason']} wait a week",
                until=w.now + timedelta(days=7),
            ),
            now=w.now,
        )
        record_decision(
            session,
            DecisionRequest(
                client_id=CLIENT,
                patch_id=PATCH.vendor_id,
                kind=ApprovalDecisionKind.EMERGENCY,
                operator=M["emergency operator"],
                reason=f"{M['emergency reason']} exploited",
                hostnames=("OFF01",),
            ),
            now=w.now,
        )
    w.run(2)
    ops.log_remediation(w.db, health, ann, "rollback_patch", now=w.now)
    w.run(2)
    ops.log_remediation(w.db, health, ann, "block_patch_client", now=w.now, note=M["block reason"])
    w.run(2)
    ops.resolve(w.db, health, ann, M["resolve note"], now=w.now)
    ops.reopen(w.db, health, ann, M["reopen note"], now=w.now)
    ops.resolve(w.db, health, ann, M["resolve note"], now=w.now)

    ops.acknowledge(w.db, offline, ann, now=w.now)
    ops.log_remediation(
        w.db, offline, ann, "dispatch_onsite", now=w.now, note=M["remediation note"]
    )
    with w.db.writer() as session:
        device_id = session.scalars(select(Device.id).where(Device.hostname == "OFF01")).one()
        patch_id = session.scalars(select(Patch.id).where(Patch.vendor_id == OTHER.vendor_id)).one()
        exclusion, _ = exclusions.exclude(
            session,
            device_id=device_id,
            patch_id=patch_id,
            reason=M["exclusion reason"],
            operator=ann,
            now=w.now,
            exception_id=offline,
        )
        exclusion_id = exclusion.id
    exclusions.lift(w.db, exclusion_id, ann, now=w.now, note=M["exclusion lift note"])
    device_ops.set_maintenance_mode(
        w.db, device_id, M["maintenance operator"], True, now=w.now, note=M["maintenance note"]
    )

    with w.db.writer() as session:
        add_to_blocklist(
            session,
            "KB9999999",
            f"{M['global block reason']} bad",
            M["global block operator"],
            now=w.now,
        )
    add_handover_note(w.db, ann, f"{M['handover note']} watch OFF01", now=w.now)
    w.run(2)
    # What a connector reports is free text too: markers in its error texts.
    with w.db.writer() as session:
        session.execute(
            update(Target)
            .where(Target.error_message.is_not(None))
            .values(error_message=f"{M['error message']} failed", error_code=M["error code"])
        )
        session.execute(update(TargetPatch).values(error_code=M["patch error code"]))
        session.execute(
            update(PatchException).values(summary=f"{M['exception summary']}: see the log")
        )
        session.execute(update(OperatorRequest).values(result=f"{M['command result']} done"))


def _engine_texts(w: ClientWorld) -> None:
    """The engine's own sentences (its log notes), read back."""
    with w.db.session() as session:
        notes = session.scalars(
            select(RemediationRecord.note).where(RemediationRecord.actor == "engine")
        )
        w.engine_texts = {n for n in notes if n.strip()}
