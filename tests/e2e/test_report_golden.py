"""Golden files of every report format on a seeded simulation.

A small simulated MSP (seed 5, 2 clients, 60 devices, 7 days from Patch Tuesday 2026-11-10)
is patched by the real engine; then a technician acknowledges, resolves, reopens and
resolves exceptions, records an emergency approval and writes a handover note, with hostile
text (HTML, spreadsheet formulas, control characters, bidi and zero-width characters) in the
notes and a hostname. Every report command is
run with a fixed ``--now`` and compared byte for byte with ``tests/golden/``.

Regenerate after an intended change (and review the diff):

    PATCHDESK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/e2e/test_report_golden.py
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from patchdesk.cli import main
from patchdesk.domain import ApprovalDecisionKind, ExceptionState, MissingPatchState
from patchdesk.simulation.run import run_simulation
from patchdesk.store import exception_ops as ops
from patchdesk.store.approval_ops import DecisionRequest, record_decision
from patchdesk.store.db import open_database
from patchdesk.store.handover import add_handover_note
from patchdesk.store.models import Device, DevicePatch, Patch, PatchException
from patchdesk.text import is_hidden

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("PATCHDESK_UPDATE_GOLDEN") == "1"
CLIENT = "northwind-dental"
NOW = "2026-11-17T12:00:00Z"
HOSTILE_NOTE = '=HYPERLINK("http://evil.example","fix") <script>alert(1)</script>\x1b[31m|pwn'
SPOOF_NOTE = "fixed\u200b by\u2066 vendor\ufeff"  # zero-width, bidi isolate, BOM
SPOOF_SUFFIX = "\u202egpj.exe"  # on a hostname: "NWD-X\u202egpj.exe" reads "NWD-Xexe.jpg"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    scratch = tmp_path_factory.mktemp("golden")
    url = f"sqlite:///{scratch / 'sim.db'}"
    # A fixed key: the handover's anchor line (the head's MAC) is in the golden files.
    key_file = scratch / "audit.key"
    key_file.write_text(bytes(range(32)).hex() + "\n")
    key_file.chmod(0o600)
    database = open_database(url, audit_key_file=key_file)
    try:
        run_simulation(
            database, seed=5, clients=2, devices=60, start=at("2026-11-10T00:00:00"), days=7
        )
        with database.session() as session:
            ids = list(
                session.scalars(
                    select(PatchException.id)
                    .where(PatchException.client_id == CLIENT)
                    .order_by(PatchException.id)
                )
            )
            missing = session.execute(
                select(Device.hostname, Patch.vendor_id)
                .join(DevicePatch, DevicePatch.device_id == Device.id)
                .join(Patch, Patch.id == DevicePatch.patch_id)
                .where(Device.client_id == CLIENT, DevicePatch.state == MissingPatchState.MISSING)
                .order_by(Device.hostname, Patch.vendor_id)
            ).first()
        assert len(ids) >= 3
        assert missing is not None
        first, second, third = ids[:3]
        with database.session() as session:
            spoofed = session.get(PatchException, first)
            assert spoofed is not None
            device = session.get(Device, spoofed.device_id)
            assert device is not None
            device.hostname += SPOOF_SUFFIX
        # The engine resolves an offline exception whose device comes back; a technician
        # reopens the ones the scenario works on (a resolved one takes no acknowledgement).
        with database.session() as session:
            engine_resolved = [
                i
                for i in (first, second, third)
                if (row := session.get(PatchException, i)) is not None
                and row.state == ExceptionState.RESOLVED
            ]
        for i in engine_resolved:
            ops.reopen(database, i, "kim", "still seen on site", now=at("2026-11-17T07:30:00"))
        ops.acknowledge(database, first, "alex", now=at("2026-11-17T08:00:00"))
        ops.resolve(database, first, "alex", HOSTILE_NOTE, now=at("2026-11-17T09:30:00"))
        ops.resolve(database, second, "kim", "rolled back", now=at("2026-11-17T10:00:00"))
        ops.reopen(database, second, "kim", SPOOF_NOTE, now=at("2026-11-17T11:00:00"))
        ops.resolve(database, second, "kim", "vendor fix\napplied", now=at("2026-11-17T11:45:00"))
        ops.escalate(database, third, "kim", note="@vendor please", now=at("2026-11-17T11:50:00"))
        with database.writer() as session:
            record_decision(
                session,
                DecisionRequest(
                    client_id=CLIENT,
                    patch_id=missing[1],
                    kind=ApprovalDecisionKind.EMERGENCY,
                    operator="alex",
                    reason="+exploited in the wild <b>now</b>",
                    hostnames=(missing[0],),
                ),
                now=at("2026-11-17T09:00:00"),
            )
        add_handover_note(
            database,
            "alex",
            "Watch the front desk <b>tonight</b>\n-check backups\x07",
            now=at("2026-11-17T11:55:00"),
        )
    finally:
        database.dispose()
    return url


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    assert exit_info.value.code == 0, captured.err
    return captured.out


def check(name: str, text: str) -> None:
    # No bidi, zero-width or control character reaches any output raw (JSON escapes them).
    assert [f"U+{ord(c):04X}" for c in text if is_hidden(c) or c in "\x1b\x07"] == [], name
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return
    assert path.exists(), f"{path} missing: run with PATCHDESK_UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, (
        f"{name} differs from its golden file; if intended, regenerate with "
        "PATCHDESK_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.fixture
def branded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The MSP's name, contact line and logo text, hostile characters included."""
    monkeypatch.setenv("PATCHDESK_REPORT__MSP_NAME", "Harbour IT & Co <NOC>")
    monkeypatch.setenv("PATCHDESK_REPORT__CONTACT", "noc@harbour.example · +1 555 0100")
    monkeypatch.setenv("PATCHDESK_REPORT__LOGO_TEXT", "=HARBOUR|IT")


@pytest.mark.usefixtures("branded")
@pytest.mark.parametrize("audience", ["client", "internal"])
@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json"])
def test_cycle_report(
    db_url: str, capsys: pytest.CaptureFixture[str], fmt: str, audience: str
) -> None:
    argv = ["report", "cycle", "--client", CLIENT, "--cycle", "2026-11", "--format", fmt]
    text = run(capsys, [*argv, "--audience", audience, "--db", db_url, "--now", NOW])
    check(f"cycle-{CLIENT}-2026-11-{audience}.{fmt}", text)


@pytest.mark.parametrize("audience", ["client", "internal"])
def test_a_client_report_without_an_msp_name_says_so(
    db_url: str, capsys: pytest.CaptureFixture[str], audience: str
) -> None:
    argv = ["report", "cycle", "--client", CLIENT, "--cycle", "2026-11", "--audience", audience]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--db", db_url, "--now", NOW])
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    warned = "names no MSP: set report.msp_name" in captured.err
    assert warned is (audience == "client")
    if audience == "client":
        assert "your IT service provider" in captured.out


@pytest.mark.usefixtures("branded")
@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json"])
def test_cycle_report_is_the_clients_by_default(
    db_url: str, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    argv = ["report", "cycle", "--client", CLIENT, "--cycle", "2026-11", "--format", fmt]
    text = run(capsys, [*argv, "--db", db_url, "--now", NOW])
    assert text == (GOLDEN / f"cycle-{CLIENT}-2026-11-client.{fmt}").read_bytes().decode()


@pytest.mark.parametrize("audience", ["client", "internal"])
def test_cycle_report_to_a_file(
    db_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, audience: str
) -> None:
    out = tmp_path / "r.html"
    argv = ["--db", db_url, "report", "cycle", "--client", CLIENT, "--cycle", "2026-11"]
    argv += ["--audience", audience, "--format", "html", "-o", str(out), "--now", NOW]
    assert run(capsys, argv) == ""
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for external in ("<script", "<link", "src=", "http://", "https://", "@import"):
        assert external not in html.replace("http://evil.example", "")
    assert "\x1b" not in html
    assert "NDP-LT-NBROWN&lt;U+202E&gt;gpj.exe" in html  # a hostname: the client's own
    if audience == "internal":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "fixed&lt;U+200B&gt; by&lt;U+2066&gt; vendor&lt;U+FEFF&gt;" in html
    else:  # the technician's note stays inside the MSP
        assert "alert(1)" not in html
        assert "evil.example" not in html


def test_metrics(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = run(capsys, ["metrics", "--cycle", "2026-11", "--json", "--db", db_url, "--now", NOW])
    check("metrics-2026-11.json", text)
    table = run(capsys, ["metrics", "--cycle", "2026-11", "--db", db_url, "--now", NOW])
    check("metrics-2026-11.txt", table)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_exceptions_export(db_url: str, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    argv = ["exceptions", "export", "--format", fmt, "--since", "2026-11-10", "--db", db_url]
    check(f"exceptions.{fmt}", run(capsys, argv))


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_handover(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setenv("PATCHDESK_TIMEZONE", "Europe/London")
    argv = ["handover", "--since", "8h", "--format", fmt, "--db", db_url]
    check(f"handover.{fmt}", run(capsys, [*argv, "--now", "2026-11-17T12:00:00Z"]))


@pytest.mark.parametrize(
    "argv",
    [
        ["metrics", "--cycle", "2026-13"],
        ["metrics", "--client", "nobody"],
        ["report", "cycle", "--client", "nobody", "--cycle", "2026-11"],
        ["report", "cycle", "--client", CLIENT, "--cycle", "Nov"],
        ["exceptions", "export", "--since", "yesterday"],
        ["handover", "--since", "soon"],
    ],
)
def test_bad_input_exits_2(
    db_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", db_url, *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    # (a simulation's database: the commands say first that they use its clock)
    problems = [line for line in err.splitlines() if "a simulated database" not in line]
    assert len(problems) == 1, err
    assert "Traceback" not in err
