"""One device in full (``store.device_views``), finding devices by hostname, and a
technician's maintenance-mode override (``store.device_ops``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from patchdesk.connectors.base import DeviceStatus
from patchdesk.domain import (
    Criticality,
    DeploymentState,
    ExceptionState,
    FailureClass,
    MissingPatchState,
    OsFamily,
    RebootPolicy,
    RecurrenceKind,
    RequestKind,
    RequestState,
    Role,
    TargetState,
)
from patchdesk.engine.sync import FleetFacts, apply_statuses
from patchdesk.rules.presence import Presence
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import Database, make_engine, open_database
from patchdesk.store.device_ops import set_maintenance_mode
from patchdesk.store.device_search import find_devices
from patchdesk.store.device_views import device_detail
from patchdesk.store.exception_views import exception_detail
from patchdesk.store.migrate import upgrade
from patchdesk.store.models import (
    CheckIn,
    Client,
    ClientScope,
    Deployment,
    Device,
    EngineLease,
    Event,
    MaintenanceWindow,
    RemediationRecord,
    Target,
    TargetPatch,
)
from patchdesk.store.operator_input import Refused
from patchdesk.store.remediation_log import verify_chain
from tests.conftest import NOW
from tests.exception_seed import Seeded, add_exception, seed_fleet

# NOW is Friday 2026-11-27 14:00 UTC, 09:00 in New York (the seeded client's zone).


def _window(
    database: Database,
    name: str,
    weekdays: list[str],
    start: time,
    hours: int,
    *,
    roles: list[str] | None = None,
    active: bool = True,
) -> int:
    with database.session() as session:
        window = MaintenanceWindow(
            client_id="acme",
            name=name,
            active=active,
            applies_roles=roles or [],
            recurrence=RecurrenceKind.WEEKLY,
            weekdays=weekdays,
            start_time=start,
            duration_minutes=hours * 60,
            reboot_policy=RebootPolicy.IF_REQUIRED,
            checkin_timeout_minutes=30,
            max_concurrent=5,
            updated_at=NOW,
        )
        session.add(window)
        session.flush()
        return window.id


def _target(
    database: Database,
    device_id: int,
    window_id: int,
    start: datetime,
    hours: int,
    state: TargetState,
    patches: dict[int, tuple[MissingPatchState, str | None]],
    **times: datetime,
) -> int:
    with database.session() as session:
        deployment = Deployment(
            client_id="acme",
            window_id=window_id,
            occurrence_start=start,
            occurrence_end=start + timedelta(hours=hours),
            state=DeploymentState.OPEN if start + timedelta(hours=hours) > NOW else
            DeploymentState.CLOSED,
            opened_at=start,
        )  # fmt: skip
        session.add(deployment)
        session.flush()
        target = Target(
            deployment_id=deployment.id,
            device_id=device_id,
            state=state,
            attempts=1,
            updated_at=start,
            **times,
        )
        target.patches = [
            TargetPatch(patch_id=patch_id, state=patch_state, error_code=error)
            for patch_id, (patch_state, error) in patches.items()
        ]
        session.add(target)
        session.flush()
        return target.id


def _seed_dc01(database: Database) -> tuple[Seeded, dict[str, int]]:
    """DC01 (a critical server) with windows, two targets, check-ins and exceptions."""
    seeded = seed_fleet(database)
    dc01 = seeded.devices["DC01"]
    kb, zip_ = seeded.patches["KB5044281"], seeded.patches["7zip-24.08"]
    daytime = _window(database, "Daytime", ["fri"], time(8, 0), 4)  # 13:00-17:00 UTC: open
    _window(database, "Evening", ["tue", "fri"], time(21, 0), 3)
    _window(database, "Servers only", ["sun"], time(1, 0), 2, roles=["server"])
    _window(database, "Kiosks", ["sat"], time(6, 0), 2, roles=["shared_workstation"])
    _window(database, "Retired", ["mon"], time(6, 0), 2, active=False)
    last_week = NOW - timedelta(days=7, hours=1)
    old = _target(
        database, dc01, daytime, last_week, 4, TargetState.VERIFIED,
        {kb: (MissingPatchState.INSTALLED, None)},
        dispatched_at=last_week + timedelta(minutes=5),
        verified_at=last_week + timedelta(minutes=40),
    )  # fmt: skip
    opened = NOW - timedelta(hours=1)  # 13:00 UTC
    current = _target(
        database, dc01, daytime, opened, 4, TargetState.AWAITING_CHECKIN,
        {kb: (MissingPatchState.INSTALLED, None), zip_: (MissingPatchState.FAILED, "0x1")},
        dispatched_at=opened + timedelta(minutes=5),
        installed_at=opened + timedelta(minutes=20),
        reboot_requested_at=opened + timedelta(minutes=25),
        reboot_deadline=opened + timedelta(minutes=55),
        checkin_deadline=NOW + timedelta(minutes=30),
    )  # fmt: skip
    old_boot = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    new_boot = opened + timedelta(minutes=30)
    with database.session() as session:
        session.add_all(
            [
                CheckIn(device_id=dc01, target_id=current, at=opened + timedelta(minutes=10),
                        boot_time=old_boot, source="connector"),
                CheckIn(device_id=dc01, target_id=current, at=opened + timedelta(minutes=40),
                        boot_time=new_boot, source="connector"),
                # long before the deployment: not in its timeline
                CheckIn(device_id=dc01, target_id=old, at=last_week,
                        boot_time=old_boot, source="connector"),
            ]
        )  # fmt: skip
        device = session.get(Device, dc01)
        assert device is not None
        device.last_boot = new_boot
        device.tags = ["pilot", "dc"]
    install = add_exception(
        database, dc01, FailureClass.INSTALL, patch_ids=[zip_],
        opened_at=NOW - timedelta(minutes=30),
    )  # fmt: skip
    reboot = add_exception(
        database, dc01, FailureClass.REBOOT, patch_ids=[kb], opened_at=NOW - timedelta(minutes=10)
    )  # fmt: skip
    resolved = add_exception(
        database, dc01, FailureClass.OFFLINE, opened_at=NOW - timedelta(days=3),
        state=ExceptionState.RESOLVED,
    )  # fmt: skip
    # Another device's exception: not DC01's business.
    add_exception(database, seeded.devices["APP02"], FailureClass.INSTALL)
    ops.log_remediation(database, install, "alice", "free_disk", now=NOW, note="cleared C:\\temp")
    ops.log_remediation(database, install, "alice", "retry_install", now=NOW)
    ids = {"install": install, "reboot": reboot, "resolved": resolved, "old": old,
           "current": current}  # fmt: skip
    return seeded, ids


def test_one_device_in_full(database: Database) -> None:
    seeded, ids = _seed_dc01(database)
    dc01 = seeded.devices["DC01"]
    with database.session() as session:
        detail = device_detail(session, dc01, NOW)
    assert detail is not None
    facts = detail.facts
    assert (facts.hostname, facts.client_id, facts.client_name) == ("DC01", "acme", "Acme Dental")
    assert (facts.site, facts.role, facts.criticality) == ("Main St", Role.SERVER,
                                                           Criticality.CRITICAL)  # fmt: skip
    assert facts.tier.value == "1"
    assert facts.tags == ("pilot", "dc")
    assert facts.os_family is OsFamily.WINDOWS
    assert facts.in_scope  # no stored scope: everything
    assert facts.maintenance_mode is False
    assert facts.maintenance_override is None

    # The windows that apply (not the kiosks', not the inactive one), the open one first.
    names = [w.name for w in detail.windows]
    assert names == ["Daytime", "Evening", "Servers only"]
    daytime, evening, servers = detail.windows
    assert daytime.occurrences[0].start_utc == NOW - timedelta(hours=1)
    assert daytime.occurrences[0].is_open(NOW)
    assert [o.start_utc for o in evening.occurrences] == [
        datetime(2026, 11, 28, 2, 0, tzinfo=UTC),  # Fri 21:00 EST
        datetime(2026, 12, 2, 2, 0, tzinfo=UTC),  # Tue 21:00 EST
        datetime(2026, 12, 5, 2, 0, tzinfo=UTC),
    ]
    assert servers.occurrences[0].start_utc == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)

    # Targets, newest first, each patch's state.
    assert [t.id for t in detail.targets] == [ids["current"], ids["old"]]
    assert detail.targets_total == 2
    current = detail.targets[0]
    assert current.window_name == "Daytime"
    assert current.state is TargetState.AWAITING_CHECKIN
    assert [(p.vendor_id, p.state, p.error_code) for p in current.patches] == [
        ("7zip-24.08", MissingPatchState.FAILED, "0x1"),
        ("KB5044281", MissingPatchState.INSTALLED, None),
    ]

    # The timeline of the last deployment, in time order, a new boot marked.
    assert detail.timeline_targets == (ids["current"],)
    timeline = [(e.at - NOW, e.what, e.detail, e.upcoming) for e in detail.timeline]
    minutes = timedelta(minutes=1)
    assert timeline == [
        (-60 * minutes, "window opens", "Daytime", False),
        (-55 * minutes, "install dispatched", "", False),
        (-50 * minutes, "check-in", "boot time 11-20 08:00 UTC", False),
        (-40 * minutes, "install reported done", "", False),
        (-35 * minutes, "reboot requested", "", False),
        (-30 * minutes, f"exception #{ids['install']} opened", "install", False),
        (-30 * minutes, "booted", "the last boot reported", False),
        (-20 * minutes, "check-in", "boot time 11-27 13:30 UTC (a new boot)", False),
        (-10 * minutes, f"exception #{ids['reboot']} opened", "reboot", False),
        (-5 * minutes, "reboot deadline", "", False),
        (30 * minutes, "check-in deadline", "", True),
        (180 * minutes, "window closes", "Daytime", True),
    ]

    # Exceptions: the open ones in triage order (reboot before install), then resolved.
    assert [e.row.id for e in detail.exceptions] == [ids["reboot"], ids["install"],
                                                     ids["resolved"]]  # fmt: skip
    assert [e.row.id for e in detail.open_exceptions] == [ids["reboot"], ids["install"]]
    assert detail.open_exception(FailureClass.INSTALL) is not None
    assert detail.open_exception(FailureClass.OFFLINE) is None
    install = detail.exception(ids["install"])
    assert install is not None
    assert [(h.action, h.outcome, h.note) for h in install.history] == [
        ("remediate:free_disk", "done", "cleared C:\\temp"),
        ("remediate:retry_install", "queued", ""),
    ]
    assert [(c.kind, c.state) for c in install.commands] == [
        (RequestKind.RETRY_INSTALL, RequestState.QUEUED)
    ]
    assert detail.device_log == ()


def test_a_device_never_deployed_and_out_of_scope(database: Database) -> None:
    seeded = seed_fleet(database)
    with database.session() as session:
        session.add(ClientScope(client_id="acme", include_roles=["server"]))
    with database.session() as session:
        detail = device_detail(session, seeded.devices["LAPTOP-ANNA"], NOW)
        assert device_detail(session, 999_999, NOW) is None
    assert detail is not None
    assert detail.facts.in_scope is False
    assert detail.windows == ()
    assert detail.targets == ()
    assert detail.timeline == ()
    assert detail.exceptions == ()


def test_find_devices_by_hostname(database: Database) -> None:
    seeded = seed_fleet(database)
    seed_fleet(database, client_id="globex", extra=False)  # the same four hostnames
    with database.session() as session:
        globex = session.get(Client, "globex")
        assert globex is not None
        globex.name = "Globex Corp"
    with database.session() as session:
        both = find_devices(session, "dc01")  # hostnames ignore case
        one = find_devices(session, "DC01@acme")
        by_name = find_devices(session, "dc01@GLOBEX CORP")
        partial = find_devices(session, "LAPTOP")
        nothing = find_devices(session, "nope")
        blank = find_devices(session, "   ")
        wrong_client = find_devices(session, "DC01@initech")
    assert both.exact
    assert both.single is None
    assert [(m.hostname, m.client_id) for m in both.matches] == [("DC01", "acme"),
                                                                 ("DC01", "globex")]  # fmt: skip
    assert one.single is not None
    assert one.single.id == seeded.devices["DC01"]
    assert by_name.single is not None
    assert by_name.single.client_id == "globex"
    assert not partial.exact
    assert partial.single is None
    assert [m.client_id for m in partial.matches] == ["acme", "globex"]
    assert nothing.matches == ()
    assert blank.matches == ()
    # A client part that names no client: the whole text is looked for as a hostname.
    assert wrong_client.matches == ()


def test_find_devices_says_when_it_lists_only_the_first(database: Database) -> None:
    seed_fleet(database)
    with database.session() as session:
        found = find_devices(session, "0", limit=1)  # DC01, APP02
    assert len(found.matches) == 1
    assert found.more


def _rmm_reports(database: Database, device_id: int, maintenance: bool, at: datetime) -> None:
    with database.writer() as session:
        status = DeviceStatus(
            connector_id="cid-DC01",
            online=True,
            last_seen=at,
            last_boot=None,
            needs_reboot=False,
            maintenance_mode=maintenance,
        )
        apply_statuses(session, FleetFacts([status], complete=True), at)


def _maintenance(database: Database, device_id: int) -> tuple[bool, bool, bool | None, str | None]:
    with database.session() as session:
        device = session.get(Device, device_id)
        assert device is not None
        return (device.maintenance_mode, device.rmm_maintenance_mode,
                device.maintenance_override, device.maintenance_override_by)  # fmt: skip


def test_a_technicians_maintenance_mode_survives_the_rmm_sync(database: Database) -> None:
    seeded = seed_fleet(database)
    dc01 = seeded.devices["DC01"]
    _rmm_reports(database, dc01, False, NOW)
    assert _maintenance(database, dc01) == (False, False, None, None)

    result = set_maintenance_mode(database, dc01, "alice", True, now=NOW, note="rebuilding")
    assert result.maintenance_mode is True
    assert result.override is True
    assert "overrides the RMM (off)" in result.message
    assert _maintenance(database, dc01) == (True, False, True, "alice")

    # The RMM keeps saying "off": the sync does not undo the technician's decision.
    _rmm_reports(database, dc01, False, NOW + timedelta(minutes=1))
    assert _maintenance(database, dc01) == (True, False, True, "alice")
    # The RMM switches on, then off again: still what the technician set, the RMM's recorded.
    _rmm_reports(database, dc01, True, NOW + timedelta(minutes=2))
    assert _maintenance(database, dc01) == (True, True, True, "alice")
    _rmm_reports(database, dc01, False, NOW + timedelta(minutes=3))
    assert _maintenance(database, dc01) == (True, False, True, "alice")

    # Switching back to what the RMM says clears the override: it follows the RMM again.
    result = set_maintenance_mode(database, dc01, "bob", False, now=NOW + timedelta(minutes=4))
    assert result.override is None
    assert "follows the RMM again" in result.message
    assert _maintenance(database, dc01) == (False, False, None, None)
    _rmm_reports(database, dc01, True, NOW + timedelta(minutes=5))
    assert _maintenance(database, dc01) == (True, True, None, None)

    # Taking a device the RMM has in maintenance mode out of it is an override too.
    set_maintenance_mode(database, dc01, "carol", False, now=NOW + timedelta(minutes=6))
    assert _maintenance(database, dc01) == (False, True, False, "carol")
    _rmm_reports(database, dc01, True, NOW + timedelta(minutes=7))
    assert _maintenance(database, dc01) == (False, True, False, "carol")

    with database.session() as session:
        records = session.scalars(
            select(RemediationRecord).where(RemediationRecord.device_id == dc01)
        ).all()
        events = session.scalars(
            select(Event)
            .where(Event.kind == "device.maintenance_mode", Event.entity_id == str(dc01))
            .order_by(Event.id)
        ).all()
        assert verify_chain(session).ok
        detail = device_detail(session, dc01, NOW + timedelta(minutes=8))
    assert [(r.action, r.operator, r.exception_id, r.note) for r in records] == [
        ("device.maintenance_on", "alice", None, "rebuilding"),
        ("device.maintenance_off", "bob", None, ""),
        ("device.maintenance_off", "carol", None, ""),
    ]
    operators = [e.payload.get("operator") for e in events]
    assert operators == ["alice", None, None, "bob", None, "carol"]  # None: the RMM's switches
    assert detail is not None
    assert [h.action for h in detail.device_log] == [r.action for r in records]
    assert detail.facts.maintenance_override is False
    assert detail.facts.maintenance_override_by == "carol"


def test_maintenance_mode_already_so_is_refused(database: Database) -> None:
    seeded = seed_fleet(database)
    dc01 = seeded.devices["DC01"]
    set_maintenance_mode(database, dc01, "alice", True, now=NOW)
    with pytest.raises(Refused, match="already in maintenance mode"):
        set_maintenance_mode(database, dc01, "bob", True, now=NOW)
    with pytest.raises(Refused, match="no device"):
        set_maintenance_mode(database, 999_999, "bob", True, now=NOW)
    with database.session() as session:
        count = len(session.scalars(select(RemediationRecord)).all())
    assert count == 1


def test_migration_0005_keeps_the_rmms_maintenance_mode(database_url: str) -> None:
    from alembic import command

    from patchdesk.store.migrate import alembic_config

    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO clients (id, name, timezone, sla_tier, created_at, updated_at) "
            "VALUES ('old', 'Old', 'UTC', 'gold', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        for n, flag in enumerate(("true", "false")):
            connection.exec_driver_sql(
                "INSERT INTO devices (client_id, hostname, role, criticality, os_family, "
                "os_name, os_version, tags, maintenance_mode, created_at, updated_at) VALUES "
                f"('old', 'H{n}', 'server', 'critical', 'windows', '', '', '[]', {flag}, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
    assert upgrade(engine) is True
    engine.dispose()
    db = open_database(database_url)
    with db.session() as session:
        rows = session.execute(
            select(Device.hostname, Device.maintenance_mode, Device.rmm_maintenance_mode,
                   Device.maintenance_override).order_by(Device.hostname)
        ).all()  # fmt: skip
    db.dispose()
    assert [tuple(r) for r in rows] == [("H0", True, True, None), ("H1", False, False, None)]


def test_a_failed_targets_error_is_in_the_timeline_a_retrying_ones_is_not(
    database: Database,
) -> None:
    seeded = seed_fleet(database)
    kb = seeded.patches["KB5044281"]
    window = _window(database, "Daytime", ["fri"], time(8, 0), 4)
    opened = NOW - timedelta(hours=1)
    failing = {kb: (MissingPatchState.FAILED, "0x80070643")}
    failed = _target(
        database, seeded.devices["DC01"], window, opened, 4, TargetState.INSTALL_FAILED,
        failing, dispatched_at=opened + timedelta(minutes=5),
    )  # fmt: skip
    other = _window(database, "Daytime servers", ["fri"], time(8, 0), 4)
    retrying = _target(
        database, seeded.devices["APP02"], other, opened, 4, TargetState.INSTALLING,
        failing, dispatched_at=opened + timedelta(minutes=5),
    )  # fmt: skip
    with database.session() as session:
        for target_id in (failed, retrying):
            target = session.get(Target, target_id)
            assert target is not None
            target.error_code = "0x80070643"
            target.error_message = "[b]Fatal[/b] error during installation"
            target.updated_at = opened + timedelta(minutes=15)
    with database.session() as session:
        dc01 = device_detail(session, seeded.devices["DC01"], NOW)
        app02 = device_detail(session, seeded.devices["APP02"], NOW)
    assert dc01 is not None
    assert app02 is not None
    failures = [(e.what, e.detail) for e in dc01.timeline if e.what.startswith("target")]
    assert failures == [
        ("target install_failed", "0x80070643 [b]Fatal[/b] error during installation")
    ]
    assert not [e for e in app02.timeline if e.what.startswith("target")]
    assert app02.targets[0].error_code == "0x80070643"  # still shown with the target


def test_a_boot_reported_after_the_last_check_in_is_said_so(database: Database) -> None:
    seeded = seed_fleet(database)
    dc01 = seeded.devices["DC01"]
    window = _window(database, "Daytime", ["fri"], time(8, 0), 4)
    opened = NOW - timedelta(hours=1)
    target = _target(
        database, dc01, window, opened, 4, TargetState.AWAITING_CHECKIN, {},
        reboot_requested_at=opened + timedelta(minutes=20),
    )  # fmt: skip
    boot = opened + timedelta(minutes=25)
    with database.session() as session:
        # The sync saw a new boot time while last_seen stayed at the check-in before it.
        session.add(CheckIn(device_id=dc01, target_id=target, at=opened + timedelta(minutes=15),
                            boot_time=boot, source="connector"))  # fmt: skip
    with database.session() as session:
        detail = device_detail(session, dc01, NOW)
    assert detail is not None
    entries = [
        (e.at, e.what, e.detail) for e in detail.timeline if e.what in ("check-in", "booted")
    ]
    assert entries == [
        (opened + timedelta(minutes=15), "check-in",
         "boot time 11-27 13:25 UTC, after this check-in: no check-in since that boot"),
        (boot, "booted", ""),
    ]  # fmt: skip


def test_an_online_device_with_an_old_checkin_is_stale_unless_an_engine_read_it(
    database: Database,
) -> None:
    seeded = seed_fleet(database)
    exception_id = add_exception(database, seeded.devices["DC01"], FailureClass.INSTALL)
    with database.session() as session:
        device = session.get(Device, seeded.devices["DC01"])
        assert device is not None
        device.last_seen = NOW - timedelta(hours=8)
    limit = timedelta(minutes=30)
    with database.session() as session:
        detail = device_detail(session, seeded.devices["DC01"], NOW)
        shown = exception_detail(session, exception_id)
        fresh = device_detail(session, seeded.devices["APP02"], NOW)
    assert detail is not None
    assert shown is not None
    assert fresh is not None
    assert detail.facts.presence(NOW, limit) is Presence.STALE
    assert shown.device.presence(NOW, limit) is Presence.STALE
    assert fresh.facts.presence(NOW, limit) is Presence.ONLINE
    # An engine holding the lease read the fleet a minute ago: the device checks in.
    with database.session() as session:
        session.add(
            EngineLease(
                name="engine",
                holder="engine@host",
                acquired_at=NOW - timedelta(hours=1),
                renewed_at=NOW - timedelta(minutes=1),
                expires_at=NOW + timedelta(minutes=1),
            )
        )
    with database.session() as session:
        detail = device_detail(session, seeded.devices["DC01"], NOW)
        shown = exception_detail(session, exception_id)
    assert detail is not None
    assert shown is not None
    assert detail.facts.presence(NOW, limit) is Presence.ONLINE
    assert shown.device.presence(NOW, limit) is Presence.ONLINE
    assert detail.facts.presence(NOW + timedelta(hours=1), limit) is Presence.STALE
