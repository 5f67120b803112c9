"""The client report, end to end on the command line: after ``patchdesk simulate --devices
500 --seed 7`` (and technicians working exceptions with ``patchdesk remediate``), ``patchdesk
report cycle --format html`` (the default audience: the client's) shows no note text, no
operator or owner name and no internal code, for every client.

Simulating 500 devices over a week took 3 s on a quiet machine; a loaded one only makes it
slower, and nothing here depends on speed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from patchdesk.cli import main
from patchdesk.domain import ExceptionState
from patchdesk.store.db import open_database
from patchdesk.store.models import Client, PatchException, RemediationRecord, Target
from tests.reports.test_client_report import internal_codes

NOW = "2026-11-17T12:00:00Z"
TECHNICIANS = ("tech-ana", "tech-bo")
NOTE = "customer is grumpy, try again Tuesday (ticket 4471)"


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    assert exit_info.value.code == 0, captured.err
    return captured.out


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sim500") / "sim.db"
    argv = ["simulate", "--devices", "500", "--seed", "7", "--start", "2026-11-10T00:00:00Z"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--db", str(path)])
    assert exit_info.value.code == 0
    return str(path)


def test_the_clients_html_report_keeps_notes_names_and_codes_inside(
    simulated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database = open_database(f"sqlite:///{simulated}")
    with database.session() as session:
        clients = list(session.scalars(select(Client.id).order_by(Client.id)))
        open_ids = list(
            session.scalars(
                select(PatchException.id)
                .where(PatchException.state != ExceptionState.RESOLVED)
                .order_by(PatchException.id)
                .limit(6)
            )
        )
    assert len(clients) == 6
    assert len(open_ids) == 6
    for n, exception_id in enumerate(open_ids):
        who = TECHNICIANS[n % 2]
        base = ["--db", simulated, "--operator", who, "remediate", str(exception_id)]
        run(capsys, [*base, "--action", "note", "--note", f"{NOTE} #{n}", "--now", NOW])
        if n % 3 == 0:
            run(capsys, [*base, "--resolve", "--note", f"fixed it myself #{n}", "--now", NOW])
    with database.session() as session:
        notes = {n for n in session.scalars(select(RemediationRecord.note)) if n.strip()}
        people = set(session.scalars(select(RemediationRecord.actor))) | set(
            session.scalars(select(RemediationRecord.operator))
        )
        people |= {o for o in session.scalars(select(PatchException.owner)) if o}
        engine_words = set(session.scalars(select(PatchException.summary))) | {
            m for m in session.scalars(select(Target.error_message)) if m
        }
        error_codes = {c for c in session.scalars(select(Target.error_code)) if c}
    codes = internal_codes(database)
    database.dispose()
    assert {"tech-ana", "tech-bo", "engine"} <= people
    assert any(NOTE in note for note in notes)

    for client_id in clients:
        argv = ["--db", simulated, "report", "cycle", "--client", client_id, "--cycle", "2026-11"]
        html = run(capsys, [*argv, "--format", "html", "--now", NOW])
        assert html.startswith("<!DOCTYPE html>")
        plain = re.sub(r"<[^>]+>", " ", html)
        assert [n for n in notes if n in plain or n in html] == [], client_id
        assert [w for w in engine_words if w and w in plain] == [], client_id
        assert [c for c in error_codes if c in plain] == [], client_id
        assert [c for c in codes if c in html] == [], client_id
        for person in people:
            assert re.search(rf"\b{re.escape(person)}\b", plain, re.IGNORECASE) is None, (
                client_id,
                person,
            )
        # the internal report of the same client does carry them (the check can fail)
        internal = run(capsys, [*argv, "--format", "html", "--audience", "internal", "--now", NOW])
        assert "exception.open" in internal
