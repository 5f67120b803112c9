"""Migrations and model round trips on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from patchdesk.domain import (
    CLASS_RANK,
    Classification,
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
    RuleAction,
    Severity,
    TargetState,
    Tier,
)
from patchdesk.store.db import STATEMENT_CACHE, Database, make_engine, open_database
from patchdesk.store.events import events_after, record_event
from patchdesk.store.migrate import current_revision, head_revision, upgrade
from patchdesk.store.models import (
    ApprovalRule,
    Base,
    CheckIn,
    Client,
    ClientScope,
    Deployment,
    Device,
    DevicePatch,
    EngineLease,
    HandoverNote,
    MaintenanceWindow,
    OperatorRequest,
    Patch,
    PatchException,
    Ring,
    Site,
    Target,
    TargetPatch,
    WindowBlackout,
)
from tests.conftest import NOW


def test_upgrade_from_empty_creates_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    assert upgrade(engine) is True
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_upgrade_of_current_database_is_a_no_op(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert upgrade(engine) is False
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_open_database_migrates_automatically(database_url: str) -> None:
    db = open_database(database_url)
    assert current_revision(db.engine) == head_revision()
    db.dispose()
    # opening again leaves data in place
    db = open_database(database_url)
    with db.session() as session:
        assert session.scalars(select(Client)).all() == []
    db.dispose()


def test_hot_query_indexes_exist(database: Database) -> None:
    inspector = inspect(database.engine)
    indexes = {
        table: {ix["name"] for ix in inspector.get_indexes(table)}
        for table in ("exceptions", "targets", "devices")
    }
    assert "ix_exceptions_triage" in indexes["exceptions"]
    assert "uq_exceptions_open_device_class" in indexes["exceptions"]
    assert "ix_targets_deployment_state" in indexes["targets"]
    assert "ix_devices_client_role" in indexes["devices"]


def test_sqlite_pragmas(tmp_path: object) -> None:
    db = open_database(f"sqlite:///{tmp_path}/p.db")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    db.dispose()


@pytest.mark.parametrize("where", ["file", "memory"])
def test_sqlite_driver_keeps_a_thousand_prepared_statements(tmp_path: object, where: str) -> None:
    # The driver's statement cache is set at connect time and cannot be read back: what the
    # engine passes to sqlite3.connect is what is checked.
    url = f"sqlite:///{tmp_path}/c.db" if where == "file" else "sqlite://"
    engine = make_engine(url)
    passed: dict[str, object] = {}

    @event.listens_for(engine, "do_connect")
    def _seen(_dialect: object, _record: object, _args: object, kwargs: dict[str, object]) -> None:
        passed.update(kwargs)

    with engine.connect():
        pass
    engine.dispose()
    assert passed["cached_statements"] == STATEMENT_CACHE >= 1_000


def _client(session: object, client_id: str = "acme") -> Client:
    client = Client(
        id=client_id,
        name="Acme Dental",
        timezone="America/New_York",
        sla_tier="gold",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(client)  # type: ignore[attr-defined]
    return client


def _device(client: Client, hostname: str, role: Role = Role.SERVER) -> Device:
    return Device(
        client=client,
        hostname=hostname,
        role=role,
        criticality=Criticality.CRITICAL,
        os_family=OsFamily.WINDOWS,
        os_name="Windows Server 2022",
        tags=["pilot", "[bold]x[/]"],
        created_at=NOW,
        updated_at=NOW,
    )


def test_full_domain_round_trip(database: Database) -> None:
    """Every model is written and read back with its values and aware UTC times."""
    berlin = timezone(timedelta(hours=1))
    with database.session() as session:
        client = _client(session)
        site = Site(client=client, name="Main St")
        device = _device(client, "ACME-DC01")
        device.site = site
        device.last_seen = datetime(2026, 11, 27, 15, 30, tzinfo=berlin)
        session.add_all([site, device])
        session.add(
            ClientScope(
                client_id="acme",
                include_roles=["server"],
                exclude_devices=["ACME-OLD"],
                third_party=["7-Zip"],
            )
        )
        window = MaintenanceWindow(
            client_id="acme",
            name="servers",
            recurrence=RecurrenceKind.PATCH_TUESDAY,
            offset_days=4,
            start_time=time(22, 0),
            duration_minutes=240,
            reboot_policy=RebootPolicy.ALWAYS,
            checkin_timeout_minutes=30,
            max_concurrent=2,
            updated_at=NOW,
            blackouts=[WindowBlackout(start_date=date(2026, 12, 20), end_date=date(2027, 1, 2))],
        )
        session.add(window)
        session.add(
            ApprovalRule(
                client_id="acme",
                position=0,
                name="defs",
                match={"classifications": ["definition"]},
                action=RuleAction.AUTO,
            )
        )
        session.add(
            Ring(
                client_id="acme",
                position=0,
                name="pilot",
                tags=["pilot"],
                soak_hours=48,
                min_success_rate=0.95,
            )
        )
        patch = Patch(
            vendor_id="KB5044284",
            title="2026-11 Cumulative Update <script>",
            product="Windows Server 2022",
            classification=Classification.SECURITY,
            severity=Severity.CRITICAL,
            release_date=date(2026, 11, 10),
        )
        session.add(patch)
        session.flush()
        session.add(
            DevicePatch(
                device_id=device.id,
                patch_id=patch.id,
                state=MissingPatchState.MISSING,
                detected_at=NOW,
                updated_at=NOW,
            )
        )
        deployment = Deployment(
            client_id="acme",
            window_id=window.id,
            occurrence_start=NOW,
            occurrence_end=NOW + timedelta(hours=4),
            state=DeploymentState.OPEN,
            opened_at=NOW,
        )
        session.add(deployment)
        session.flush()
        target = Target(
            deployment_id=deployment.id,
            device_id=device.id,
            state=TargetState.AWAITING_CHECKIN,
            attempts=1,
            idempotency_key=f"{deployment.id}:{device.id}:1",
            checkin_deadline=NOW + timedelta(minutes=30),
            updated_at=NOW,
            patches=[TargetPatch(patch_id=patch.id, state=MissingPatchState.INSTALLED)],
        )
        session.add(target)
        session.flush()
        session.add(CheckIn(device_id=device.id, target_id=target.id, at=NOW, source="sim"))
        exc = PatchException(
            client_id="acme",
            device_id=device.id,
            deployment_id=deployment.id,
            target_id=target.id,
            failure_class=FailureClass.OFFLINE,
            tier=Tier.CRITICAL_SERVER,
            class_rank=CLASS_RANK[FailureClass.OFFLINE],
            state=ExceptionState.OPEN,
            patch_ids=[patch.id],
            opened_at=NOW,
            updated_at=NOW,
        )
        session.add(exc)
        session.flush()
        session.add(
            OperatorRequest(
                kind=RequestKind.FORCE_REBOOT,
                state=RequestState.QUEUED,
                exception_id=exc.id,
                device_id=device.id,
                requested_by="alice",
                requested_at=NOW,
            )
        )
        session.add(HandoverNote(author="alice", at=NOW, text="DC01 still down"))
        session.add(
            EngineLease(
                name="engine",
                holder="host:1",
                acquired_at=NOW,
                renewed_at=NOW,
                expires_at=NOW + timedelta(seconds=30),
            )
        )

    with database.session() as session:
        device = session.scalars(select(Device)).one()
        assert device.hostname == "ACME-DC01"
        assert device.tags == ["pilot", "[bold]x[/]"]
        assert device.role is Role.SERVER
        assert device.site is not None
        assert device.site.name == "Main St"
        assert device.last_seen == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
        assert device.last_seen.tzinfo is not None
        window = session.scalars(select(MaintenanceWindow)).one()
        assert window.start_time == time(22, 0)
        assert [(b.start_date, b.end_date) for b in window.blackouts] == [
            (date(2026, 12, 20), date(2027, 1, 2))
        ]
        target = session.scalars(select(Target)).one()
        assert target.state is TargetState.AWAITING_CHECKIN
        assert target.checkin_deadline == NOW + timedelta(minutes=30)
        assert [p.state for p in target.patches] == [MissingPatchState.INSTALLED]
        exc = session.scalars(select(PatchException)).one()
        assert exc.tier is Tier.CRITICAL_SERVER
        assert exc.patch_ids == [1]
        assert session.scalars(select(Patch.title)).one() == "2026-11 Cumulative Update <script>"
        assert session.scalars(select(ApprovalRule.match)).one() == {
            "classifications": ["definition"]
        }
        assert session.scalars(select(Ring.min_success_rate)).one() == pytest.approx(0.95)
        assert session.scalars(select(OperatorRequest.kind)).one() is RequestKind.FORCE_REBOOT
        lease = session.get(EngineLease, "engine")
        assert lease is not None
        assert lease.expires_at == NOW + timedelta(seconds=30)


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), database.session() as session:
        session.add(
            Client(
                id="x",
                name="x",
                timezone="UTC",
                sla_tier="gold",
                created_at=datetime(2026, 1, 1),
                updated_at=NOW,
            )
        )


def test_naive_datetimes_are_refused_after_the_same_instant_was_written(
    database: Database,
) -> None:
    """The SQLite conversion remembers recent instants: a naive datetime that equals the
    wall time of one remembered is still refused, and an instant given in another zone is
    stored and read back as the same UTC time."""
    with database.session() as session:
        _client(session)  # created_at NOW
    paris = timezone(timedelta(hours=1))
    with database.session() as session:
        client = session.get_one(Client, "acme")
        client.updated_at = NOW.astimezone(paris)
    with database.session() as session:
        client = session.get_one(Client, "acme")
        assert client.updated_at == NOW
        assert client.updated_at.tzinfo is UTC
    with pytest.raises(StatementError, match="naive datetime"), database.session() as session:
        session.get_one(Client, "acme").updated_at = NOW.replace(tzinfo=None)


def test_enum_columns_reject_unknown_values_in_the_database(database: Database) -> None:
    with database.session() as session:
        _client(session)
    with pytest.raises(IntegrityError), database.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO devices (client_id, hostname, role, criticality, os_family, os_name, "
            "os_version, tags, maintenance_mode, created_at, updated_at) VALUES "
            "('acme', 'h', 'toaster', 'critical', 'windows', '', '', '[]', false, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Site(client_id="nobody", name="x"))


def test_one_open_exception_per_device_and_class(database: Database) -> None:
    with database.session() as session:
        client = _client(session)
        device = _device(client, "H1")
        session.add(device)
        session.flush()
        device_id = device.id

    def exception(state: ExceptionState) -> PatchException:
        return PatchException(
            client_id="acme",
            device_id=device_id,
            failure_class=FailureClass.INSTALL,
            tier=Tier.CRITICAL_SERVER,
            class_rank=CLASS_RANK[FailureClass.INSTALL],
            state=state,
            opened_at=NOW,
            updated_at=NOW,
        )

    with database.session() as session:
        session.add(exception(ExceptionState.RESOLVED))
        session.add(exception(ExceptionState.RESOLVED))  # resolved ones may repeat
        session.add(exception(ExceptionState.OPEN))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(exception(ExceptionState.ACKNOWLEDGED))


def test_events_are_read_in_id_order_after_a_given_id(database: Database) -> None:
    with database.session() as session:
        for n in range(5):
            record_event(session, at=NOW, kind="test", entity="x", entity_id=n)
    with database.session() as session:
        everything = events_after(session, 0)
        assert [e.entity_id for e in everything] == ["0", "1", "2", "3", "4"]
        later = events_after(session, everything[2].id)
        assert [e.entity_id for e in later] == ["3", "4"]
        ids = [e.id for e in everything]
        assert ids == sorted(ids)


def test_upgrade_step_by_step_keeps_data(database_url: str) -> None:
    """A database made by an older release upgrades in place, its rows intact."""
    from alembic import command

    from patchdesk.store.migrate import alembic_config

    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO clients (id, name, timezone, sla_tier, created_at, updated_at) "
            "VALUES ('old', 'Old Client', 'UTC', 'gold', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')"
        )
    assert upgrade(engine) is True
    assert current_revision(engine) == head_revision()
    db = open_database(database_url)
    with db.session() as session:
        assert session.scalars(select(Client.name)).all() == ["Old Client"]
    db.dispose()
    engine.dispose()
