"""``patchdesk approvals`` end to end on the example policies, inventory and missing patches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from patchdesk.cli import main
from patchdesk.store.db import open_database
from patchdesk.store.models import Patch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AT = "2026-11-27T14:00:00Z"


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def examples_db(migrated_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The example MSP: policies, three inventories and the missing-patch report."""
    db = ["--db", migrated_url, "--operator", "alice"]
    policies = sorted(str(p) for p in (EXAMPLES / "policies").glob("*.toml"))
    inventory = EXAMPLES / "inventory"
    steps = [
        ["policy", "apply", *policies],
        ["inventory", "import", str(inventory / "harbour-dental.csv")],
        ["inventory", "import", str(inventory / "kessler-engineering.csv")],
        [
            "inventory",
            "import",
            str(inventory / "southern-cross-accounting.csv"),
            "--client",
            "southern-cross-accounting",
        ],
        ["inventory", "patches", str(inventory / "missing-patches.csv")],
    ]
    for step in steps:
        assert run([*db, *step]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return migrated_url


def listing(
    url: str, capsys: pytest.CaptureFixture[str], *extra: str, at: str = AT
) -> list[dict[str, Any]]:
    assert run(["--db", url, "approvals", "--json", "--at", at, *extra]) == 0
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document, list)
    return document


KEYS = {
    "client",
    "patch_id",
    "title",
    "vendor",
    "product",
    "classification",
    "severity",
    "release_date",
    "devices",
    "hostnames",
    "state",
    "reason",
    "decided_by",
    "rule",
    "ring",
    "from",
    "until",
    "emergency",
    "waiting_for",
    "manual",
}


def find(rows: list[dict[str, Any]], client: str, patch: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["client"] == client and r["patch_id"] == patch]


def test_every_state_appears_with_a_reason(
    examples_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = listing(examples_db, capsys)
    assert {r["state"] for r in rows} == {
        "approved",
        "pending_manual",
        "deferred",
        "blocked",
        "not_yet",
    }
    for row in rows:
        assert set(row) == KEYS
        assert row["reason"]
        assert row["devices"] == len(row["hostnames"]) > 0
    [feature] = find(rows, "kessler-engineering", "KB5072600")
    assert feature["state"] == "deferred"
    assert feature["reason"] == (
        'deferred until 2027-02-10 (rule 2 "Feature upgrades" → defer 90 days after release)'
    )
    assert feature["rule"] == {"position": 2, "name": "Feature upgrades"}
    assert feature["until"] == "2027-02-09T23:00:00+00:00"  # midnight in Berlin
    [winre] = find(rows, "harbour-dental", "KB5034441")
    assert (winre["state"], winre["decided_by"]) == ("blocked", "blocklist")
    assert winre["hostnames"] == ["HDG-BOS-OP03"]  # the excluded X-ray PC is not listed
    cumulative = {r["ring"]: r for r in find(rows, "kessler-engineering", "KB5072033")}
    assert cumulative["pilot"]["state"] == "approved"
    assert cumulative["pilot"]["hostnames"] == ["KSI-CAD-MUELLER", "KSI-NB-KOCH"]
    broad = cumulative["broad"]
    assert broad["state"] == "not_yet"
    assert broad["waiting_for"]["ring"] == "pilot"
    assert broad["waiting_for"]["why"] == "not_deployed"
    assert "KSI-NB-BECKER" not in broad["hostnames"]  # no site: outside Kessler's scope
    [chrome] = find(rows, "harbour-dental", "Google.Chrome-143.0.7499.110")
    assert chrome["state"] == "deferred"
    assert chrome["until"] == "2026-11-28T05:00:00+00:00"  # midnight in New York
    assert "HDG-LT-DRNGUYEN" not in chrome["hostnames"]  # a Mac: Harbour patches Windows only
    [driver] = find(rows, "harbour-dental", "Intel-Display-32.0.101.7026")
    assert (driver["state"], driver["rule"]["name"]) == ("pending_manual", "Drivers")


def test_state_and_client_filters(examples_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    everything = listing(examples_db, capsys)
    for state, raw in [
        ("pending", {"pending_manual"}),
        ("waiting", {"not_yet"}),
        ("approved", {"approved"}),
        ("deferred", {"deferred"}),
        ("blocked", {"blocked"}),
    ]:
        rows = listing(examples_db, capsys, "--state", state)
        assert rows
        assert {r["state"] for r in rows} == raw
        assert len(rows) == sum(1 for r in everything if r["state"] in raw)
    sca = listing(examples_db, capsys, "--client", "southern-cross-accounting")
    assert sca
    assert {r["client"] for r in sca} == {"southern-cross-accounting"}
    assert run(["--db", examples_db, "approvals", "--client", "nobody"]) == 2
    assert "unknown client 'nobody'" in capsys.readouterr().err
    assert run(["--db", examples_db, "approvals", "--state", "nope"]) == 2
    assert run(["--db", examples_db, "approvals", "--at", "2026-11-27T14:00"]) == 2
    assert "needs a UTC offset" in capsys.readouterr().err


def test_table_output(examples_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--db", examples_db, "approvals", "--client", "kessler-engineering", "--at", AT]
    assert run([*argv, "--state", "waiting"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "kessler-engineering",
        "  KB5072033  2026-11 Cumulative Update for Windows 11, version 24H2 for x64-based "
        "Systems (KB5072033)",
        "    security · critical · Windows 11 · released 2026-11-10",
        '    not_yet           5 devices  ring "broad" is waiting for ring "pilot": it has not '
        "deployed this patch yet, 2 of its devices need it; approved since 2026-11-10 (rule 4 "
        '"Critical and important security updates" → auto-approve on release)',
        "",
        "1 patch, 1 decision: 1 not_yet",
    ]
    assert run([*argv, "--state", "waiting", "--client", "harbour-dental"]) == 0
    assert capsys.readouterr().out == "nothing in state waiting\n"


def test_decisions_from_a_script(examples_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", examples_db, "--operator", "alice", "approvals"]
    kessler = ["--client", "kessler-engineering"]
    code = run(
        [*db, "emergency", *kessler, "KB5072033", "--device", "KSI-CAD-WEBER", "--reason", "KEV"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "kessler-engineering: emergency approval of KB5072033 for KSI-CAD-WEBER: KEV (decision 1, "
        "by alice)\n  now approved, 1 device: approved at once as an emergency"
    )
    # decisions count from when they were made: list as of a time after this one
    after = listing(examples_db, capsys, at="2098-01-01T00:00:00Z")
    rows = find(after, "kessler-engineering", "KB5072033")
    [emergency] = [r for r in rows if r["emergency"]]
    assert emergency["hostnames"] == ["KSI-CAD-WEBER"]
    assert (emergency["state"], emergency["decided_by"]) == ("approved", "emergency")
    assert emergency["manual"]["operator"] == "alice"

    assert run([*db, "block", *kessler, "7zip.7zip-26.00"]) == 2
    assert (
        capsys.readouterr().err == "patchdesk: --reason: required for block: say why, for the log\n"
    )
    assert run([*db, "defer", *kessler, "7zip.7zip-26.00", "--until", "2026-11-01"]) == 2
    assert "is not in the future" in capsys.readouterr().err
    assert run([*db, "defer", *kessler, "7zip.7zip-26.00", "--until", "2099-01-01"]) == 0
    assert "now deferred, 2 devices: deferred until 2099-01-01 by a technician" in (
        capsys.readouterr().out
    )
    assert run([*db, "approve", "--client", "harbour-dental", "KB5034441"]) == 2
    assert "on the global block list" in capsys.readouterr().err
    assert run([*db, "approve", *kessler, "USN-7912-1", "--reason", "checked"]) == 0
    capsys.readouterr()
    assert run(["--db", examples_db, "audit", "verify"]) == 0
    assert "remediation log intact" in capsys.readouterr().out


def test_untrusted_text_is_printable_in_the_table(
    examples_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "evil.csv"
    report.write_text(
        "client,hostname,patch_id,title,vendor,product,classification,severity,release_date,"
        "reboot_required\n"
        "lakeside-vet,LV-SRV01,KB9,Wiped title,Microsoft,Windows,security,low,2026-11-01,true\n",
        encoding="utf-8",
    )
    inventory = tmp_path / "lv.csv"
    inventory.write_text(
        "hostname,client,site,role,criticality,os,tags,external_id\n"
        "LV-SRV01,lakeside-vet,Main,server,,Windows Server 2022,,\n",
        encoding="utf-8",
    )
    assert run(["--db", examples_db, "inventory", "import", str(inventory)]) == 0
    assert run(["--db", examples_db, "inventory", "patches", str(report)]) == 0
    # The CSV import refuses control characters; an RMM's report may still carry them.
    database = open_database(examples_db)
    with database.writer() as session:
        session.execute(
            update(Patch).where(Patch.vendor_id == "KB9").values(title="\x1b[2JWiped \x07title")
        )
    database.dispose()
    block = [
        "approvals",
        "block",
        "--client",
        "lakeside-vet",
        "KB9",
        "--reason",
        "\x1b]0;pwned\x07",
    ]
    assert run(["--db", examples_db, "--operator", "alice", *block]) == 0
    assert "\x1b" not in capsys.readouterr().out
    argv = ["--db", examples_db, "approvals", "--client", "lakeside-vet", "--at", "2098-01-01"]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "  KB9  [2JWiped title" in out
    assert "blocked by a technician" in out
    assert "]0;pwned)" in out
    assert "\x1b" not in out
    assert "\x07" not in out
    [row] = listing(examples_db, capsys, "--client", "lakeside-vet")
    assert row["title"] == "\x1b[2JWiped \x07title"  # JSON keeps the text as stored
