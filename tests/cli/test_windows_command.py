"""`patchdesk windows` on the example policies (store + calendar + CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchdesk.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def url(migrated_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert run(["--db", migrated_url, "--operator", "alice", "policy", "apply", str(EXAMPLES)]) == 0
    capsys.readouterr()
    return migrated_url


def test_new_york_fall_back_night_json(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--db", url, "windows", "--client", "harbour-dental"]
    argv += ["--from", "2026-10-30T00:00:00Z", "--count", "6", "--json"]
    assert run(argv) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(o["window"], o["start_local"], o["end_local"]) for o in found] == [
        # still open at --from: 23:30-02:30 UTC
        ("Front desk and operatories", "2026-10-29T19:30:00-04:00", "2026-10-29T22:30:00-04:00"),
        ("Weekend catch-up", "2026-10-31T01:30:00-04:00", "2026-10-31T04:30:00-04:00"),
        # 01:30 happens twice that night: the window opens at the first, ends 04:30 EST
        ("Weekend catch-up", "2026-11-01T01:30:00-04:00", "2026-11-01T04:30:00-05:00"),
        ("Front desk and operatories", "2026-11-03T19:30:00-05:00", "2026-11-03T22:30:00-05:00"),
        ("Dentists' laptops", "2026-11-04T12:15:00-05:00", "2026-11-04T13:45:00-05:00"),
        ("Front desk and operatories", "2026-11-05T19:30:00-05:00", "2026-11-05T22:30:00-05:00"),
    ]
    assert found[2]["start_utc"] == "2026-11-01T05:30:00+00:00"
    assert found[2]["end_utc"] == "2026-11-01T09:30:00+00:00"
    assert {o["client"] for o in found} == {"harbour-dental"}
    assert {o["timezone"] for o in found} == {"America/New_York"}
    assert set(found[0]) == {
        "client",
        "window",
        "start_utc",
        "end_utc",
        "start_local",
        "end_local",
        "timezone",
    }


def test_table_shows_local_and_utc_times_and_status(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--db", url, "windows", "--client", "harbour-dental", "--window", "Weekend catch-up"]
    argv += ["--from", "2026-11-01T00:00:00Z", "--to", "2026-11-02", "--now", "2026-11-01T06:00Z"]
    assert run(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "CLIENT",
        "WINDOW",
        "LOCAL",
        "(client",
        "time)",
        "UTC",
        "DURATION",
        "STATUS",
    ]
    assert len(lines) == 2
    row = lines[1]
    assert "Sun 2026-11-01 01:30 EDT – 04:30 EST" in row
    assert "2026-11-01 05:30 – 09:30" in row
    assert "4h" in row
    assert row.endswith("open now, 3h30m left")


def test_range_across_clients_is_sorted_by_start(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--db", url, "windows", "--from", "2026-11-13", "--to", "2026-11-16", "--json"]
    assert run(argv) == 0
    found = json.loads(capsys.readouterr().out)
    starts = [o["start_utc"] for o in found]
    assert starts == sorted(starts)
    assert len({o["client"] for o in found}) >= 3
    # Southern Cross's Patch-Tuesday+4 server window: Saturday 14 Nov 21:00 in Sydney
    assert any(
        o["client"] == "southern-cross-accounting"
        and o["start_local"] == "2026-11-14T21:00:00+11:00"
        for o in found
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--to", "2026-12-01", "--count", "3"], "not both"),
        (["--from", "yesterday"], "--from: 'yesterday' is not an ISO 8601"),
        (["--from", "2026-12-01", "--to", "2026-11-01"], "--to must be later"),
        (["--client", "nobody"], "unknown client 'nobody'"),
        (["--window", "No such window"], "no active window named"),
    ],
)
def test_bad_input_exits_2(
    url: str, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert run(["--db", url, "windows", *extra]) == 2
    assert message in capsys.readouterr().err


def test_policy_export_lists_next_occurrences(url: str) -> None:
    from datetime import UTC, datetime

    from patchdesk.store.db import open_database
    from patchdesk.store.policy_views import export_json, export_markdown, read_export

    db = open_database(url)
    with db.session() as session:
        export = read_export(
            session, "harbour-dental", now=datetime(2026, 10, 31, 6, 0, tzinfo=UTC)
        )
    db.dispose()
    assert export is not None
    text = export_markdown(export)
    weekend = text.split("### Weekend catch-up")[1]
    assert (
        "  - Sat 2026-10-31 01:30 EDT to 04:30 EDT (2026-10-31 05:30–08:30 UTC)\n"
        "  - Sun 2026-11-01 01:30 EDT to 04:30 EST (2026-11-01 05:30–09:30 UTC)\n"
        "  - Sat 2026-11-07 01:30 EST to 04:30 EST (2026-11-07 06:30–09:30 UTC)"
    ) in weekend
    servers = text.split("### Practice servers")[1].split("###")[0]
    # Patch Tuesday 10 Nov + 2 days, 21:00 EST until 01:00: crosses midnight in UTC too
    assert "  - Thu 2026-11-12 21:00 EST to Fri 01:00 EST (2026-11-13 02:00–06:00 UTC)" in servers
    document = export_json(export)
    first = document["in_words"]["next_occurrences"]["Weekend catch-up"][1]
    assert first == {
        "start_local": "2026-11-01T01:30:00-04:00",
        "end_local": "2026-11-01T04:30:00-05:00",
        "start_utc": "2026-11-01T05:30:00+00:00",
        "end_utc": "2026-11-01T09:30:00+00:00",
    }
