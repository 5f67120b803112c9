"""The simulated MSP (engine/simulation): deterministic, real policies, loads idempotently."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.connectors.base import MissingPatch
from patchdesk.domain import Classification, RebootPolicy, Role, RuleAction
from patchdesk.policy.models import ApprovalRule, Monthly, PatchTuesday, PolicyDocument, Weekly
from patchdesk.rules.calendar import next_occurrences
from patchdesk.simulation import SimulatedMsp, build_msp, load_msp
from patchdesk.store.db import Database
from patchdesk.store.models import Client, Device, Event, MaintenanceWindow, Ring, Site
from patchdesk.store.window_views import load_windows
from tests.conftest import NOW

START = datetime(2026, 11, 12, 20, 0, tzinfo=UTC)
SOUTHERN = {"Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "Australia/Adelaide"}


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# ------------------------------------------------------------------------- building


def test_build_is_deterministic_for_a_seed() -> None:
    first = build_msp(7, clients=8, devices=300, start=START)
    assert first == build_msp(7, clients=8, devices=300, start=START)
    other = build_msp(8, clients=8, devices=300, start=START)
    assert other.inventory != first.inventory


def test_sizes_zones_and_roles() -> None:
    msp = build_msp(3, clients=20, devices=2000, start=START)
    assert len(msp.clients) == 20
    assert len(msp.inventory) == len(msp.devices) == 2000
    zones = {client.timezone for client in msp.clients}
    assert len(zones) >= 6
    assert zones & SOUTHERN
    roles = Counter(row.role for row in msp.inventory)
    assert 0.08 <= roles[Role.SERVER] / 2000 <= 0.14
    assert 0.20 <= roles[Role.SHARED_WORKSTATION] / 2000 <= 0.30
    assert 0.58 <= roles[Role.SINGLE_USER] / 2000 <= 0.70
    assert {row.criticality for row in msp.inventory if row.role is Role.SERVER} == {
        "critical",
        "standard",
    }


def test_a_small_msp_still_spans_six_zones_and_both_hemispheres() -> None:
    msp = build_msp(1, clients=6, devices=40, start=START)
    zones = {client.timezone for client in msp.clients}
    assert len(zones) == 6
    assert zones & SOUTHERN
    assert all(any(r.client_id == c.id for r in msp.inventory) for c in msp.clients)


def test_hostnames_and_connector_ids() -> None:
    msp = build_msp(5, clients=10, devices=1500, start=START)
    keys = [(row.client_id, row.hostname) for row in msp.inventory]
    assert len(keys) == len(set(keys))
    ids = [device.connector_id for device in msp.devices]
    assert len(ids) == len(set(ids))
    assert [row.external_id for row in msp.inventory] == ids
    hostnames = [row.hostname for row in msp.inventory]
    assert any(name.endswith("-DC01") for name in hostnames)
    assert any("-LT-" in name for name in hostnames)
    assert any(name.endswith("FRONTDESK01") for name in hostnames)
    tags = Counter(tag for row in msp.inventory for tag in row.tags)
    assert tags["pilot"] > 0
    assert tags["docked"] > 0


def test_policies_are_real_policies() -> None:
    msp = build_msp(9, clients=12, devices=600, start=START)
    dumped = msp.document.model_dump(by_alias=True, exclude_none=True)
    assert PolicyDocument.model_validate(dumped) == msp.document
    windows = [window for client in msp.clients for window in client.windows]
    kinds = {type(window.recurrence) for window in windows}
    assert kinds == {Weekly, Monthly, PatchTuesday}
    assert {window.reboot for window in windows} == set(RebootPolicy) - {RebootPolicy.NEVER}
    single = [w for w in windows if w.applies_to.roles == [Role.SINGLE_USER]]
    assert single
    assert all(w.max_deferrals > 0 and w.deferral_minutes > 0 for w in single)
    assert any(window.blackouts for window in windows)
    assert any(client.rings for client in msp.clients)
    assert any(not client.rings for client in msp.clients)
    for client in msp.clients:
        actions = {_rule_for(client.approval_rules, c) for c in Classification}
        assert RuleAction.AUTO in actions
        assert _rule_for(client.approval_rules, Classification.DEFINITION) is RuleAction.AUTO
        assert _rule_for(client.approval_rules, Classification.FEATURE_UPGRADE) is RuleAction.DEFER
        assert _rule_for(client.approval_rules, Classification.DRIVER) is RuleAction.MANUAL
    assert [entry.patch_id for entry in msp.blocklist] == ["KB5034441"]


def _rule_for(rules: list[ApprovalRule], classification: Classification) -> RuleAction:
    for rule in rules:
        criteria = rule.match.criteria()
        if rule.match.any or (
            set(criteria) == {"classifications"}
            and classification.value in criteria["classifications"]
        ):
            return RuleAction(rule.action)
    raise AssertionError(f"no plain rule for {classification}")


def test_the_simulator_fleet_matches_the_inventory() -> None:
    msp = build_msp(2, clients=6, devices=120, start=START)
    sim = msp.simulator(lambda: START)
    assert sim.device_ids() == [row.external_id for row in msp.inventory]
    assert sim.cycle == datetime(2026, 11, 10).date()
    missing = sim.missing_patches(sim.device_ids())
    patches: list[MissingPatch] = [p for ps in missing.values() for p in ps]
    assert len(patches) > 500
    products = {p.product for p in patches if p.classification is Classification.THIRD_PARTY}
    scoped = {app for client in msp.clients for app in client.scope.third_party}
    assert products & scoped


@pytest.mark.parametrize(("clients", "devices"), [(0, 10), (5, 4)])
def test_bad_sizes_are_refused(clients: int, devices: int) -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_msp(1, clients=clients, devices=devices, start=START)


def test_start_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_msp(1, start=datetime(2026, 11, 12))


# ---------------------------------------------------------------------------- store


def load(database: Database, msp: SimulatedMsp, now: datetime = NOW) -> bool:
    with database.writer() as session:
        return load_msp(session, msp, now=now).changed


def test_load_creates_clients_devices_and_windows(database: Database) -> None:
    msp = build_msp(4, clients=7, devices=160, start=START)
    assert load(database, msp) is True
    with database.session() as session:
        assert count(session, Client) == 7
        assert count(session, Device) == 160
        assert count(session, MaintenanceWindow) == 4 * 7
        assert count(session, Site) >= 7
        assert count(session, Ring) == 2 * sum(1 for c in msp.clients if c.rings)
        connector_ids = set(session.scalars(select(Device.connector_id)))
        assert connector_ids == {device.connector_id for device in msp.devices}
        zones = set(session.scalars(select(Client.timezone)))
        assert zones == {client.timezone for client in msp.clients}


def stamps(session: Session) -> list[tuple[int, datetime]]:
    return [(d.id, d.updated_at) for d in session.scalars(select(Device).order_by(Device.id))]


def test_loading_twice_changes_nothing(database: Database) -> None:
    msp = build_msp(4, clients=5, devices=90, start=START)
    load(database, msp)
    with database.session() as session:
        events = count(session, Event)
        devices = stamps(session)
    assert load(database, msp, NOW + timedelta(hours=1)) is False
    with database.session() as session:
        assert count(session, Event) == events
        assert stamps(session) == devices


DEMO_STARTS = [
    START,
    datetime(2026, 11, 3, 9, 30, tzinfo=UTC),  # before Patch Tuesday: no PT offset fits
    datetime(2026, 12, 24, 23, 58, tzinfo=UTC),  # in the year-end freeze, across midnight
    datetime(2027, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 4, 5, 1, 0, tzinfo=UTC),  # Sydney's and Auckland's DST end
    datetime(2026, 3, 29, 0, 59, 30, tzinfo=UTC),  # Europe's DST start
]


@pytest.mark.parametrize("start", DEMO_STARTS, ids=lambda s: s.isoformat())
def test_demo_windows_open_at_start_and_within_minutes(database: Database, start: datetime) -> None:
    msp = build_msp(1, clients=16, devices=200, start=start, demo=True)
    load(database, msp)
    with database.session() as session:
        windows = load_windows(session)
    assert len(windows) == 4 * 16
    first_client = msp.clients[0].id
    for window in windows:
        occurrence = next_occurrences(window.spec, window.zone, start, 1)[0]
        if window.client_id == first_client:
            assert occurrence.is_open(start), window
        else:
            assert start < occurrence.start_utc <= start + timedelta(minutes=31), window
        assert occurrence.end_utc - occurrence.start_utc >= timedelta(hours=2)
