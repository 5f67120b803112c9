"""Policy files: every bad file is refused with the exact file, line and field path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patchdesk.cli import main
from patchdesk.policy.load import (
    LoadedFile,
    PolicySet,
    Problem,
    load_paths,
    load_sources,
    load_text,
)
from patchdesk.store.db import open_database
from patchdesk.store.models import Client

EXAMPLES = Path(__file__).parents[2] / "examples" / "policies"

# A valid one-client file. Its line numbers are what the cases below expect: keep them stable.
GOOD = textwrap.dedent(
    """\
    [client]
    id = "acme-dental"
    name = "Acme Dental"
    timezone = "America/New_York"
    sla_tier = "gold"

    [client.scope]
    include_roles = ["server", "shared_workstation"]
    include_os = ["windows"]

    [[client.windows]]
    name = "Servers"
    applies_to = { roles = ["server"] }
    recurrence = { type = "weekly", days = ["tue", "thu"] }
    start = "22:00"
    duration = "4h"
    reboot = "if_required"
    checkin_timeout = "30m"
    max_concurrent = 2
    blackouts = [{ from = 2026-12-20, to = 2027-01-02, reason = "Holidays" }]

    [[client.windows]]
    name = "Workstations"
    recurrence = { type = "patch_tuesday", offset_days = 2 }
    start = "19:00"
    duration = "3h30m"
    reboot = "always"
    max_deferrals = 2
    deferral_minutes = 30
    checkin_timeout = "1h"
    max_concurrent = 10

    [[client.approval_rules]]
    name = "Critical security"
    match = { classifications = ["security"], severities = ["critical"] }
    action = "auto"
    days = 3

    [[client.approval_rules]]
    name = "Feature upgrades"
    match = { classifications = ["feature_upgrade"] }
    action = "defer"
    days = 120

    [[client.approval_rules]]
    name = "Everything else"
    match = { any = true }
    action = "manual"

    [[client.rings]]
    name = "pilot"
    tags = ["pilot"]
    soak = "48h"
    min_success_rate = 0.95

    [[client.rings]]
    name = "broad"
    soak = "2d"
    min_success_rate = 0.9
    """
)

GOOD_BLOCKLIST = textwrap.dedent(
    """\
    [[blocklist]]
    patch_id = "KB5034441"
    reason = "Fails with 0x80070643 on small recovery partitions"
    blocked_by = "j.okafor"
    blocked_at = 2026-01-12T09:40:00-05:00
    """
)


def bad(old: str, new: str, text: str = GOOD) -> str:
    """``text`` with one fragment replaced (the fragment must be there exactly once)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def problems_of(text: str, file: str = "p.toml") -> list[str]:
    result = load_text(text, file)
    assert not isinstance(result, LoadedFile), "the file was accepted"
    return [str(problem) for problem in result]


# (case id, text, expected "FILE:LINE: field.path: message start")
CASES = [
    (
        "unknown top-level key",
        GOOD + "\n[extra]\nkey = 1\n",
        "p.toml:61: extra: unknown key 'extra'",
    ),
    (
        "unknown key in the scope",
        bad('include_os = ["windows"]', 'include_oses = ["windows"]'),
        "p.toml:9: client.scope.include_oses: unknown key 'include_oses' "
        "(did you mean 'include_os'?)",
    ),
    (
        "unknown key inside an inline table",
        bad('applies_to = { roles = ["server"] }', 'applies_to = { rolls = ["server"] }'),
        "p.toml:13: client.windows[0].applies_to.rolls: unknown key 'rolls'",
    ),
    (
        "typo in a window key",
        bad('duration = "3h30m"', 'duraton = "3h30m"'),
        "p.toml:26: client.windows[1].duraton: unknown key 'duraton' (did you mean 'duration'?)",
    ),
    (
        "the key the typo left missing is reported at its table's header",
        bad('duration = "3h30m"', 'duraton = "3h30m"'),
        "p.toml:22: client.windows[1].duration: required key is missing",
    ),
    (
        "unknown time zone",
        bad('"America/New_York"', '"America/New_Yrok"'),
        "p.toml:4: client.timezone: unknown time zone 'America/New_Yrok'",
    ),
    (
        "duration zero",
        bad('duration = "4h"', 'duration = "0h"'),
        "p.toml:16: client.windows[0].duration: must be longer than 0 minutes",
    ),
    (
        "duration over 24 hours",
        bad('duration = "3h30m"', 'duration = "24h30m"'),
        "p.toml:26: client.windows[1].duration: must be at most 24h (got 24h30m)",
    ),
    (
        "duration not in the duration format",
        bad('duration = "4h"', 'duration = "4 hours"'),
        "p.toml:16: client.windows[0].duration: '4 hours' is not a duration",
    ),
    (
        "empty weekday list",
        bad('days = ["tue", "thu"]', "days = []"),
        "p.toml:14: client.windows[0].recurrence.days: list at least one day",
    ),
    (
        "unknown weekday",
        bad('days = ["tue", "thu"]', 'days = ["tue", "thursday"]'),
        "p.toml:14: client.windows[0].recurrence.days[1]: 'thursday' is not a weekday",
    ),
    (
        "unknown recurrence type",
        bad('type = "patch_tuesday"', 'type = "fortnightly"'),
        "p.toml:24: client.windows[1].recurrence: type must be",
    ),
    (
        "ring threshold above 1",
        bad("min_success_rate = 0.95", "min_success_rate = 1.5"),
        "p.toml:54: client.rings[0].min_success_rate: must be between 0 and 1",
    ),
    (
        "ring threshold below 0",
        bad("min_success_rate = 0.9\n", "min_success_rate = -0.1\n"),
        "p.toml:59: client.rings[1].min_success_rate: must be between 0 and 1",
    ),
    (
        "start hour 25",
        bad('start = "19:00"', 'start = "25:00"'),
        "p.toml:25: client.windows[1].start: '25:00' is not a time of day",
    ),
    (
        "bad regular expression",
        bad("match = { any = true }", 'match = { title_pattern = "(unclosed" }'),
        "p.toml:47: client.approval_rules[2].match.title_pattern: not a valid regular expression",
    ),
    (
        "defer without days: the rule's header line",
        bad("days = 120\n", "\n"),
        "p.toml:39: client.approval_rules[1].days: required when action is 'defer'",
    ),
    (
        "days on a manual rule",
        bad('action = "auto"', 'action = "manual"'),
        "p.toml:37: client.approval_rules[0].days: not allowed when action is 'manual'",
    ),
    (
        "a rule that matches nothing in particular",
        bad('match = { classifications = ["feature_upgrade"] }', "match = {}"),
        "p.toml:41: client.approval_rules[1].match: give at least one of",
    ),
    (
        "duplicate window names",
        bad('name = "Workstations"', 'name = "servers"'),
        "p.toml:23: client.windows[1].name: window name 'servers' is already used by windows[0]",
    ),
    (
        "duplicate ring names",
        bad('name = "broad"', 'name = "Pilot"'),
        "p.toml:57: client.rings[1].name: ring name 'Pilot' is already used by rings[0]",
    ),
    (
        "a ring before the last without tags",
        bad('tags = ["pilot"]', "tags = []"),
        "p.toml:52: client.rings[0].tags: only the last ring may leave tags empty",
    ),
    (
        "soak not in whole hours",
        bad('soak = "48h"', 'soak = "90m"'),
        "p.toml:53: client.rings[0].soak: must be whole hours (got 1h30m)",
    ),
    (
        "TOML syntax error",
        bad('reboot = "if_required"', "reboot = if_required"),
        "p.toml:17: (toml syntax): Invalid value (column 10)",
    ),
    (
        "blackout ends before it starts",
        bad("from = 2026-12-20", "from = 2027-01-05"),
        "p.toml:20: client.windows[0].blackouts[0].to: ends (2027-01-02) before it starts",
    ),
    (
        "unknown role",
        bad('include_roles = ["server", "shared_workstation"]', 'include_roles = ["servr"]'),
        "p.toml:8: client.scope.include_roles[0]: Input should be 'server', "
        "'shared_workstation' or 'single_user' (got 'servr')",
    ),
    (
        "deferrals without minutes",
        bad("deferral_minutes = 30", "deferral_minutes = 0"),
        "p.toml:29: client.windows[1].deferral_minutes: must be more than 0 when max_deferrals",
    ),
    (
        "a number given as a string",
        bad("max_concurrent = 2", 'max_concurrent = "2"'),
        "p.toml:19: client.windows[0].max_concurrent: Input should be a valid integer (got '2')",
    ),
    (
        "client id not a slug",
        bad('id = "acme-dental"', 'id = "Acme Dental"'),
        "p.toml:2: client.id: 'Acme Dental' is not a client id",
    ),
    (
        "unknown SLA tier",
        bad('sla_tier = "gold"', 'sla_tier = "platinum"'),
        "p.toml:5: client.sla_tier: 'platinum' is not an SLA tier",
    ),
    (
        "a file with no client and no block list",
        "# nothing here yet\n",
        "p.toml:1: (top level): a policy file holds [client], [[clients]] or [[blocklist]]",
    ),
    (
        "both [client] and [[clients]]",
        GOOD + GOOD.replace("[client", "[clients").replace('"acme-dental"', '"acme-two"'),
        "p.toml:1: (top level): use [client] for one client or [[clients]] for several",
    ),
    (
        "block-list time without a UTC offset",
        bad("2026-01-12T09:40:00-05:00", "2026-01-12T09:40:00", GOOD_BLOCKLIST),
        "p.toml:5: blocklist[0].blocked_at: needs a UTC offset",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_policy_is_reported_at_its_place(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_the_good_file_is_valid() -> None:
    """The cases above fail because of their one change, not because GOOD is bad."""
    loaded = load_text(GOOD, "p.toml")
    assert isinstance(loaded, LoadedFile)
    client = loaded.document.all_clients()[0][1]
    assert client.windows[1].duration == 210
    assert client.windows[0].checkin_timeout == 30
    assert client.rings[1].soak == 48
    assert client.approval_rules[0].days == 3
    assert client.approval_rules[2].days is None


def test_every_error_of_a_file_is_listed_in_line_order() -> None:
    text = bad('"America/New_York"', '"Mars/Olympus"')
    text = bad('duration = "4h"', 'duration = "0m"', text)
    text = bad('start = "19:00"', 'start = "7pm"', text)
    text = bad("min_success_rate = 0.95", "min_success_rate = 2", text)
    problems = load_text(text, "p.toml")
    assert isinstance(problems, list)
    assert [(p.line, p.path) for p in problems] == [
        (4, "client.timezone"),
        (16, "client.windows[0].duration"),
        (25, "client.windows[1].start"),
        (54, "client.rings[0].min_success_rate"),
    ]


def test_second_array_table_element_is_located_by_its_own_lines() -> None:
    text = textwrap.dedent(
        """\
        [[clients]]
        id = "one"
        name = "One"
        timezone = "UTC"
        sla_tier = "bronze"

        [[clients]]
        id = "two"
        name = "Two"
        timezone = "UTC"
        sla_tier = "bronze"

        [[clients.windows]]
        name = "a"
        recurrence = { type = "monthly", nth = 5, weekday = "fri" }
        start = "01:00"
        duration = "1h"
        reboot = "never"
        checkin_timeout = "5m"
        max_concurrent = 1
        blackouts = [
            { from = 2026-12-20, to = 2026-12-21 },
            { from = 2026-12-24, to = 2026-12-22, reason = "oops" },
        ]
        """
    )
    assert problems_of(text) == [
        "p.toml:15: clients[1].windows[0].recurrence.nth: must be 1, 2, 3, 4 or -1 "
        "(the last one in the month), got 5",
        "p.toml:23: clients[1].windows[0].blackouts[1].to: ends (2026-12-22) before it "
        "starts (from = 2026-12-24)",
    ]


def test_syntax_error_at_the_end_of_the_file() -> None:
    assert problems_of('[client]\nid = "x"\nname = "unterminated') == [
        "p.toml:3: (toml syntax): Unterminated string at the end of the file"
    ]


def test_same_client_in_two_files() -> None:
    other = bad('name = "Acme Dental"', 'name = "Acme Dental (copy)"')
    result = load_sources([("a.toml", GOOD), ("b.toml", "# the copy\n" + other)])
    assert isinstance(result, list)
    assert [str(p) for p in result] == [
        "b.toml:3: client.id: client id 'acme-dental' is already defined at a.toml:2"
    ]


def test_same_patch_twice_in_the_block_list() -> None:
    result = load_sources([("a.toml", GOOD_BLOCKLIST), ("b.toml", GOOD_BLOCKLIST + GOOD_BLOCKLIST)])
    assert isinstance(result, list)
    assert [str(p) for p in result] == [
        "b.toml:2: blocklist[0].patch_id: block-list patch_id 'KB5034441' is already defined "
        "at a.toml:2",
        "b.toml:7: blocklist[1].patch_id: block-list patch_id 'KB5034441' is already defined "
        "at a.toml:2",
    ]


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'[client]\nname = "M\xfcller"\n')
    result = load_paths([tmp_path / "missing.toml", latin1])
    assert isinstance(result, list)
    assert [str(p) for p in result] == [
        f"{tmp_path / 'missing.toml'}: (file): cannot read: No such file or directory",
        f"{latin1}:2: (file): not UTF-8 text (byte 0xfc)",
    ]


def test_examples_are_valid() -> None:
    result = load_paths([EXAMPLES])
    assert isinstance(result, PolicySet), [str(p) for p in result]
    zones = {client.timezone for client in result.clients}
    assert len(result.clients) >= 3
    assert {"America/New_York", "Europe/Berlin", "Australia/Sydney"} <= zones
    assert len(result.blocklist) >= 1


def test_problem_text_has_the_documented_shape() -> None:
    problem = Problem("f.toml", 7, "client.windows[1].start", "bad")
    assert str(problem) == "f.toml:7: client.windows[1].start: bad"


# --- through the command line ---------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_validate_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["policy", "validate", str(EXAMPLES)], capsys)
    assert (code, err) == (0, "")
    assert out == "5 files OK: 5 clients, 2 block-list entries\n"


def test_validate_lists_every_problem_one_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.toml"
    first.write_text(bad('duration = "4h"', 'duration = "0h"'))
    second = tmp_path / "second.toml"
    second.write_text(bad('start = "19:00"', 'start = "25:00"'))
    code, out, err = run(["policy", "validate", str(first), str(second)], capsys)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{first}:16: client.windows[0].duration: must be longer than 0 minutes",
        f"{second}:2: client.id: client id 'acme-dental' is already defined at {first}:2",
        f"{second}:25: client.windows[1].start: '25:00' is not a time of day: a start time "
        'is a string "HH:MM" on the 24-hour clock, e.g. "22:00"',
    ]


APPLY_SAMPLE = [
    c
    for c in CASES
    if c[0]
    in {
        "typo in a window key",
        "unknown time zone",
        "TOML syntax error",
        "duplicate window names",
        "bad regular expression",
    }
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in APPLY_SAMPLE], ids=[c[0] for c in APPLY_SAMPLE]
)
def test_apply_with_one_bad_file_applies_nothing(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_file = tmp_path / "p.toml"
    bad_file.write_text(text.replace('"acme-dental"', '"acme-two"'))
    url = f"sqlite:///{tmp_path / 'patchdesk.db'}"
    good_file = tmp_path / "good.toml"
    good_file.write_text(GOOD)
    code, out, err = run(["--db", url, "policy", "apply", str(good_file), str(bad_file)], capsys)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    expected_here = expected.replace("p.toml", str(bad_file)).replace("acme-dental", "acme-two")
    assert any(line.startswith(expected_here) for line in err.splitlines()), err
    assert err.splitlines()[-1].startswith("nothing applied: ")
    database = open_database(url)
    try:
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(Client)) == 0
    finally:
        database.dispose()
