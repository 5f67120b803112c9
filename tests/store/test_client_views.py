"""What the Clients screens read (``store.client_views``), on SQLite and PostgreSQL: figures
per client, one client's policy in words, next occurrences across daylight-saving changes,
and finding a client by what a technician typed. Expectations are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from patchdesk.domain import (
    Criticality,
    ExceptionState,
    FailureClass,
    OsFamily,
    Role,
    Tier,
)
from patchdesk.policy.load import PolicySet, load_sources
from patchdesk.store.client_views import (
    NO_SCOPE,
    DirectoryEntry,
    RoleCounts,
    TierCounts,
    client_detail,
    client_directory,
    client_rows,
    near_matches,
)
from patchdesk.store.db import Database
from patchdesk.store.models import Client, ClientScope, Device, Site
from patchdesk.store.policy_ops import apply_policies
from tests.exception_seed import add_exception

NEW_YORK = ZoneInfo("America/New_York")
# A Tuesday, twelve days before New York leaves daylight saving time (Sun 2026-11-01 02:00).
BEFORE_FALL_BACK = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)

POLICY = """
[client]
id = "lakeside"
name = "Lakeside Clinic"
timezone = "America/New_York"
sla_tier = "gold"

[client.scope]
include_os = ["windows"]
exclude_devices = ["lab-01"]
third_party = ["7-Zip"]

[[client.windows]]
name = "Servers early Sunday"
applies_to = { roles = ["server"] }
recurrence = { type = "weekly", days = ["sun"] }
start = "01:30"
duration = "2h"
reboot = "always"
checkin_timeout = "20m"
max_concurrent = 1

[[client.windows]]
name = "Spring catch-up"
recurrence = { type = "monthly", nth = 2, weekday = "sun" }
start = "02:30"
duration = "1h"
reboot = "if_required"
checkin_timeout = "1h"
max_concurrent = 5

[[client.approval_rules]]
name = "Critical security"
match = { classifications = ["security"], severities = ["critical"] }
action = "auto"
days = 2

[[client.approval_rules]]
name = "Feature upgrades"
match = { classifications = ["feature_upgrade"] }
action = "defer"
days = 90

[[client.rings]]
name = "pilot"
tags = ["pilot"]
soak = "24h"
min_success_rate = 0.9

[[client.rings]]
name = "broad"
soak = "0h"
min_success_rate = 0.9

[[blocklist]]
patch_id = "KB5034441"
reason = "recovery partition too small"
blocked_by = "noc.lead"
blocked_at = 2024-01-12T14:40:00Z
"""

HARBOUR = """
[client]
id = "harbour"
name = "Harbour Freight Co"
timezone = "Europe/London"
sla_tier = "silver"
"""

# hostname -> (role, criticality, os, tags); in scope: Windows and not LAB-01 (any case).
DEVICES = {
    "DC01": (Role.SERVER, Criticality.CRITICAL, OsFamily.WINDOWS, []),
    "APP02": (Role.SERVER, Criticality.STANDARD, OsFamily.LINUX, []),
    "FRONTDESK": (Role.SHARED_WORKSTATION, Criticality.STANDARD, OsFamily.WINDOWS, []),
    "LAB-01": (Role.SHARED_WORKSTATION, Criticality.STANDARD, OsFamily.WINDOWS, []),
    "LAPTOP-ANNA": (Role.SINGLE_USER, Criticality.STANDARD, OsFamily.WINDOWS, ["pilot"]),
    "LAPTOP-BOB": (Role.SINGLE_USER, Criticality.STANDARD, OsFamily.MACOS, []),
}


def seed(database: Database, now: datetime = BEFORE_FALL_BACK) -> dict[str, int]:
    policies = load_sources([("lakeside.toml", POLICY), ("harbour.toml", HARBOUR)])
    assert isinstance(policies, PolicySet), [str(p) for p in policies]
    with database.writer() as session:
        apply_policies(session, policies, now=now, operator="a.tech")
    ids: dict[str, int] = {}
    with database.session() as session:
        site = Site(client_id="lakeside", name="Main")
        session.add(site)
        session.flush()
        for hostname, (role, criticality, os_family, tags) in DEVICES.items():
            device = Device(
                client_id="lakeside",
                site_id=site.id,
                hostname=hostname,
                role=role,
                criticality=criticality,
                os_family=os_family,
                tags=tags,
                maintenance_mode=hostname == "APP02",
                created_at=now,
                updated_at=now,
            )
            session.add(device)
            session.flush()
            ids[hostname] = device.id
        for hostname in ("HF-SRV1", "HF-PC1", "HF-PC2"):
            role = Role.SERVER if "SRV" in hostname else Role.SINGLE_USER
            session.add(
                Device(
                    client_id="harbour",
                    hostname=hostname,
                    role=role,
                    criticality=Criticality.CRITICAL
                    if role is Role.SERVER
                    else Criticality.STANDARD,
                    os_family=OsFamily.LINUX,
                    created_at=now,
                    updated_at=now,
                )
            )
    opened = now - timedelta(hours=3)
    add_exception(database, ids["DC01"], FailureClass.INSTALL, opened_at=opened)
    add_exception(database, ids["DC01"], FailureClass.OFFLINE, opened_at=opened)
    add_exception(
        database,
        ids["FRONTDESK"],
        FailureClass.REGRESSION,
        opened_at=opened,
        state=ExceptionState.ACKNOWLEDGED,
        owner="bob",
    )
    # resolved: not open any more
    add_exception(database, ids["LAPTOP-ANNA"], FailureClass.OFFLINE, state=ExceptionState.RESOLVED)
    return ids


def test_a_row_per_client_with_its_figures(database: Database) -> None:
    seed(database)
    with database.session() as session:
        rows = client_rows(session, BEFORE_FALL_BACK)
    assert [row.id for row in rows] == ["harbour", "lakeside"]  # by name
    harbour, lakeside = rows

    assert (lakeside.name, lakeside.timezone, lakeside.sla_tier) == (
        "Lakeside Clinic",
        "America/New_York",
        "gold",
    )
    assert lakeside.devices == RoleCounts(server=2, shared_workstation=2, single_user=2)
    assert lakeside.devices.total == 6
    # Windows and not excluded: DC01, FRONTDESK, LAPTOP-ANNA (APP02 Linux, LAB-01 excluded
    # whatever the case, LAPTOP-BOB macOS).
    assert lakeside.in_scope == 3
    # DC01 (critical server) twice, FRONTDESK (shared) acknowledged; the resolved one not.
    assert lakeside.open_exceptions == TierCounts((2, 0, 1, 0))
    assert lakeside.open_exceptions[Tier.CRITICAL_SERVER] == 2
    assert lakeside.open_exceptions.total == 3
    # Next: Sunday 2026-10-25 01:30 EDT (05:30 UTC), the servers' window.
    upcoming = lakeside.next_window
    assert upcoming is not None
    assert upcoming.window == "Servers early Sunday"
    assert upcoming.start_utc == datetime(2026, 10, 25, 5, 30, tzinfo=UTC)
    assert upcoming.end_utc == datetime(2026, 10, 25, 7, 30, tzinfo=UTC)

    # No scope stored: everything is in scope. No window: none next.
    assert harbour.devices == RoleCounts(server=1, shared_workstation=0, single_user=2)
    assert harbour.in_scope == 3
    assert harbour.open_exceptions == TierCounts()
    assert harbour.next_window is None


def test_an_open_window_is_the_next_one(database: Database) -> None:
    seed(database)
    during = datetime(2026, 10, 25, 6, 0, tzinfo=UTC)  # 02:00 EDT, half-way through
    with database.session() as session:
        (lakeside,) = [row for row in client_rows(session, during) if row.id == "lakeside"]
    assert lakeside.next_window is not None
    assert lakeside.next_window.start_utc == datetime(2026, 10, 25, 5, 30, tzinfo=UTC)
    assert lakeside.next_window.is_open(during)


def test_the_detail_says_the_policy_in_words(database: Database) -> None:
    seed(database)
    with database.session() as session:
        detail = client_detail(session, "lakeside", BEFORE_FALL_BACK)
    assert detail is not None
    assert detail.problem is None
    assert detail.row.in_scope == 3
    assert detail.maintenance_mode == 1  # APP02
    scope = dict(detail.scope)
    assert scope["Operating systems"] == "Windows"
    assert scope["Excluded devices"] == "lab-01"
    assert scope["Third-party applications"] == "7-Zip"

    servers, spring = detail.windows
    assert servers.name == "Servers early Sunday"
    assert dict(servers.lines)["When"] == (
        "every Sunday, 01:30 to 03:30 (2 hours), America/New_York time"
    )
    assert dict(servers.lines)["Applies to"] == "devices in scope that are servers"
    assert servers.devices_in_scope == 1  # DC01; APP02 runs Linux
    assert spring.devices_in_scope == 3  # every device in scope

    assert detail.rules == (
        (
            "Critical security",
            "Security updates of critical severity: approved automatically 2 days after release",
        ),
        ("Feature upgrades", "Feature upgrades: deferred until 90 days after release"),
    )
    assert detail.unmatched == "A patch that no rule matches waits for a technician's approval."
    assert detail.rings == (
        (
            "pilot",
            "devices tagged pilot. Soaks for 1 day; the next ring starts when at least 90% of "
            "this ring's devices were patched successfully.",
        ),
        ("broad", "every device in scope that is not in an earlier ring."),
    )
    assert detail.blocked_globally == 1


def test_next_occurrences_across_the_fall_back_night(database: Database) -> None:
    """New York leaves daylight saving time on Sun 2026-11-01 at 02:00 (back to 01:00): a
    01:30 start happens twice that night; the window opens once, at the first (EDT) 01:30,
    and ends at 03:30 wall time (EST), so it lasts three hours."""
    seed(database)
    with database.session() as session:
        detail = client_detail(session, "lakeside", BEFORE_FALL_BACK)
    assert detail is not None
    servers = detail.windows[0]
    starts = [(o.start_utc, o.end_utc) for o in servers.upcoming]
    assert starts == [
        (datetime(2026, 10, 25, 5, 30, tzinfo=UTC), datetime(2026, 10, 25, 7, 30, tzinfo=UTC)),
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        (datetime(2026, 11, 8, 6, 30, tzinfo=UTC), datetime(2026, 11, 8, 8, 30, tzinfo=UTC)),
    ]
    fall_back = servers.upcoming[1]
    assert (fall_back.start_local.tzname(), fall_back.end_local.tzname()) == ("EDT", "EST")
    assert fall_back.start_local.replace(tzinfo=None) == datetime(2026, 11, 1, 1, 30)
    assert fall_back.end_local.replace(tzinfo=None) == datetime(2026, 11, 1, 3, 30)
    assert fall_back.duration == timedelta(hours=3)


def test_next_occurrences_across_the_spring_forward_night(database: Database) -> None:
    """Sun 2027-03-14 (the second Sunday of March) New York skips 02:00-03:00: the 02:30
    catch-up opens at 03:00 EDT (07:00 UTC), the first valid instant, and still ends at
    03:30 wall time; April and May are ordinary."""
    seed(database)
    february = datetime(2027, 2, 20, 12, 0, tzinfo=UTC)
    with database.session() as session:
        detail = client_detail(session, "lakeside", february)
    assert detail is not None
    spring = detail.windows[1]
    march, april, may = spring.upcoming
    assert march.start_shifted
    assert march.start_utc == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)
    assert march.end_utc == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert (march.start_local.hour, march.start_local.minute) == (3, 0)
    assert not april.start_shifted
    assert april.start_utc == datetime(2027, 4, 11, 6, 30, tzinfo=UTC)  # 02:30 EDT
    assert may.start_utc == datetime(2027, 5, 9, 6, 30, tzinfo=UTC)


def test_a_client_without_scope_or_windows(database: Database) -> None:
    seed(database)
    with database.session() as session:
        detail = client_detail(session, "harbour", BEFORE_FALL_BACK)
    assert detail is not None
    # A file without [client.scope] applies the default scope: every device and OS patch,
    # no third-party application.
    scope = dict(detail.scope)
    assert scope["Device roles"] == "all roles"
    assert scope["Operating systems"] == "all"
    assert scope["Third-party applications"] == "none"
    assert detail.windows == ()
    assert detail.rules == ()
    assert detail.unmatched == "A patch that no rule matches waits for a technician's approval."
    assert detail.rings == ()
    assert detail.row.in_scope == 3

    # A client with no scope row at all (not made by policy apply): everything is in scope.
    with database.session() as session:
        session.execute(delete(ClientScope).where(ClientScope.client_id == "lakeside"))
    with database.session() as session:
        detail = client_detail(session, "lakeside", BEFORE_FALL_BACK)
    assert detail is not None
    assert detail.scope == NO_SCOPE
    assert detail.row.in_scope == 6


def test_an_unknown_client_has_no_detail(database: Database) -> None:
    seed(database)
    with database.session() as session:
        assert client_detail(session, "lakesid", BEFORE_FALL_BACK) is None
        directory = client_directory(session)
    assert directory == [
        DirectoryEntry("harbour", "Harbour Freight Co"),
        DirectoryEntry("lakeside", "Lakeside Clinic"),
    ]


def test_an_invalid_stored_policy_is_said_not_raised(database: Database) -> None:
    seed(database)
    with database.session() as session:
        client = session.get(Client, "lakeside")
        assert client is not None
        client.timezone = "Mars/Olympus_Mons"  # no such zone: the policy no longer validates
    with database.session() as session:
        detail = client_detail(session, "lakeside", BEFORE_FALL_BACK)
        rows = client_rows(session, BEFORE_FALL_BACK)
    assert detail is not None
    assert detail.problem is not None
    assert "not valid any more" in detail.problem
    assert detail.windows == ()
    assert detail.rules == ()
    assert detail.row.devices.total == 6
    assert [row.next_window for row in rows if row.id == "lakeside"] == [None]


ENTRIES = [
    DirectoryEntry("harbour-dental", "Harbour Dental Group"),
    DirectoryEntry("kessler-engineering", "Kessler Engineering"),
    DirectoryEntry("southern-cross-accounting", "Southern Cross Accounting"),
    DirectoryEntry("prairie-vet", "Prairie Veterinary Hospital"),
]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("harbour", ["harbour-dental"]),  # part of an id
        ("VETERINARY", ["prairie-vet"]),  # part of a name, any case
        ("kesler-engineering", ["kessler-engineering"]),  # a typo
        (
            "e",
            ["harbour-dental", "kessler-engineering", "southern-cross-accounting", "prairie-vet"],
        ),
        ("zzz", []),
        ("  ", []),
    ],
)
def test_near_matches(typed: str, expected: list[str]) -> None:
    assert near_matches(ENTRIES, typed) == expected


def test_near_matches_are_limited() -> None:
    assert len(near_matches(ENTRIES, "e", limit=2)) == 2


def test_in_scope_by_tag_and_site(database: Database) -> None:
    """Tags and sites compare ignoring case: only LAPTOP-ANNA is a Windows device tagged
    pilot at the Main site (and not excluded)."""
    seed(database)
    with database.session() as session:
        scope = session.get(ClientScope, "lakeside")
        assert scope is not None
        scope.include_tags = ["PILOT"]
        scope.include_sites = ["main"]
    with database.session() as session:
        rows = {row.id: row for row in client_rows(session, BEFORE_FALL_BACK)}
        detail = client_detail(session, "lakeside", BEFORE_FALL_BACK)
    assert rows["lakeside"].in_scope == 1
    assert rows["harbour"].in_scope == 3
    assert detail is not None
    assert detail.row.in_scope == 1
    assert dict(detail.scope)["Device tags"] == "only devices tagged PILOT"
    assert [w.devices_in_scope for w in detail.windows] == [0, 1]
