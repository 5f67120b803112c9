"""``patchdesk remediate --action exclude_patch`` / ``schedule_reboot --at`` and
``patchdesk exclusions [lift]`` as a technician or a script runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from patchdesk.domain import FailureClass, RebootPolicy, RecurrenceKind, RequestKind, RequestState
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.requests import run_requests
from patchdesk.engine.step import Step
from patchdesk.store.db import open_database
from patchdesk.store.models import MaintenanceWindow, OperatorRequest, RemediationRecord
from tests.conftest import NOW
from tests.connectors.fakefleet import FakeFleet
from tests.e2e import test_exceptions_cli
from tests.e2e.test_exceptions_cli import AT, Msp, act, one_line_error

msp = test_exceptions_cli.msp  # two clients, every class on every device of acme


def engine_runs_commands(url: str, now: datetime) -> None:
    database = open_database(url)
    with database.writer() as session:
        run_requests(Step(session, FakeFleet(lambda: now), now, EngineConfig(), StepCounts()))
    database.dispose()


def test_exclude_list_and_lift(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    eid = str(msp.ids["DC01", FailureClass.INSTALL])
    assert act(msp, capsys, "remediate", eid, "--action", "exclude_patch", "--now", AT) == 2
    assert one_line_error(capsys) == (
        "patchdesk: note: required for exclude_patch: it is the exclusion's reason"
    )
    argv = ["remediate", eid, "--action", "exclude_patch", "--note", "breaks the EHR agent"]
    assert act(msp, capsys, *argv, "--now", AT) == 0
    assert "exclude_patch logged (queued); command" in capsys.readouterr().out
    assert act(msp, capsys, "exclusions") == 0
    assert capsys.readouterr().out == "no active exclusions\n"  # the engine has not run yet

    engine_runs_commands(msp.url, NOW + timedelta(seconds=15))
    assert act(msp, capsys, "exclusions", "--json") == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert {k: listed[k] for k in ("client", "device", "patch", "reason", "excluded_by")} == {
        "client": "acme",
        "device": "DC01",
        "patch": "KB5044281",
        "reason": "breaks the EHR agent",
        "excluded_by": "alice",
    }
    assert listed["active"] is True
    assert act(msp, capsys, "exclusions", "--device", "DC01@acme") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ID", "CLIENT", "DEVICE", "PATCH", "BY", "SINCE", "REASON"]
    assert table[1].split()[1:4] == ["acme", "DC01", "KB5044281"]

    exclusion = str(listed["id"])
    lift = ["exclusions", "lift", exclusion, "--note", "fixed upstream", "--now", AT]
    assert act(msp, capsys, *lift, who="bob") == 0
    assert capsys.readouterr().out.startswith("exclusion lifted: KB5044281 is targeted on DC01")
    assert act(msp, capsys, *lift, who="bob") == 2
    assert one_line_error(capsys).startswith(
        f"patchdesk: exclusion {exclusion} of KB5044281 on DC01 was lifted already, by bob"
    )
    assert act(msp, capsys, "exclusions") == 0
    assert capsys.readouterr().out == "no active exclusions\n"
    assert act(msp, capsys, "exclusions", "--all", "--json") == 0
    (lifted,) = json.loads(capsys.readouterr().out)
    assert (lifted["active"], lifted["lifted_by"], lifted["lift_note"]) == (
        False,
        "bob",
        "fixed upstream",
    )
    database = open_database(msp.url)
    with database.session() as session:
        actions = session.scalars(select(RemediationRecord.action)).all()
    database.dispose()
    assert actions[-3:] == ["remediate:exclude_patch", "command.exclude_patch", "exclusion.lift"]


def test_schedule_reboot_at_a_client_time(msp: Msp, capsys: pytest.CaptureFixture[str]) -> None:
    eid = str(msp.ids["DC01", FailureClass.REBOOT])
    database = open_database(msp.url)
    with database.session() as session:  # acme (New York): nightly 22:00-02:00 local
        session.add(
            MaintenanceWindow(
                client_id="acme",
                name="nightly",
                recurrence=RecurrenceKind.WEEKLY,
                weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                start_time=time(22, 0),
                duration_minutes=240,
                reboot_policy=RebootPolicy.IF_REQUIRED,
                checkin_timeout_minutes=30,
                max_concurrent=5,
                updated_at=NOW,
            )
        )
    database.dispose()
    base = ["remediate", eid, "--action", "schedule_reboot", "--now", AT]
    assert act(msp, capsys, *base) == 2
    assert one_line_error(capsys) == (
        "patchdesk: reboot time: required for schedule_reboot (when to reboot)"
    )
    assert act(msp, capsys, *base, "--at", "tonight") == 2
    assert one_line_error(capsys) == (
        "patchdesk: --at: 'tonight' is not a time: YYYY-MM-DD HH:MM or HH:MM (client time)"
    )
    assert act(msp, capsys, *base, "--at", "12:00") == 2  # noon today, New York
    assert one_line_error(capsys) == (
        "patchdesk: reboot time: Fri 27 Nov 12:00 EST is outside the device's windows; the "
        "next one is nightly Fri 27 Nov 22:00–02:00 EST"
    )
    assert act(msp, capsys, *base, "--at", "23:30", "--json") == 0  # tonight, New York
    document = json.loads(capsys.readouterr().out)
    database = open_database(msp.url)
    with database.session() as session:
        command = session.get_one(OperatorRequest, document["command"])
    database.dispose()
    assert (command.kind, command.state, command.not_before) == (
        RequestKind.SCHEDULE_REBOOT,
        RequestState.QUEUED,
        datetime(2026, 11, 28, 4, 30, tzinfo=UTC),
    )
    # (alice acted on an exception nobody owned: it is hers now)
    assert document["message"].endswith("the engine reboots it then (yours now)")
    assert act(msp, capsys, "exceptions", "show", eid, "--now", AT) == 0
    shown = capsys.readouterr().out
    assert (
        "schedule_reboot  queued  by alice at 2026-11-27 14:00 UTC, for 2026-11-28 04:30 UTC"
        in (shown)
    )
    assert "  contact_user         Contact user  [your own work: logs what you did]" in shown
    assert "  schedule_reboot      Schedule reboot  [engine: schedule_reboot]" in shown
