"""``policy apply`` against the store (SQLite, and PostgreSQL when configured), and export."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.cli import main
from patchdesk.domain import RebootPolicy, RecurrenceKind, RuleAction
from patchdesk.policy.load import PolicySet, load_paths, load_sources
from patchdesk.policy.models import PolicyDocument
from patchdesk.store.db import Database
from patchdesk.store.models import (
    ApprovalRule,
    BlockedPatch,
    Client,
    ClientScope,
    Event,
    MaintenanceWindow,
    RemediationRecord,
    Ring,
    WindowBlackout,
)
from patchdesk.store.policy_ops import ApplyReport, apply_policies
from patchdesk.store.policy_views import export_json, export_markdown, read_export
from patchdesk.store.remediation_log import verify_chain
from tests.conftest import NOW

EXAMPLES = Path(__file__).parents[2] / "examples" / "policies"
LATER = NOW + timedelta(hours=1)
OPERATOR = "a.tech"


def examples(tmp_path: Path) -> Path:
    """A private copy of the example policies, to edit."""
    target = tmp_path / "policies"
    shutil.copytree(EXAMPLES, target)
    return target


def load(*paths: Path) -> PolicySet:
    result = load_paths(list(paths))
    assert isinstance(result, PolicySet), [str(p) for p in result]
    return result


def apply(database: Database, policies: PolicySet, now: datetime = NOW) -> ApplyReport:
    with database.writer() as session:
        return apply_policies(session, policies, now=now, operator=OPERATOR)


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def window(session: Session, client_id: str, name: str) -> MaintenanceWindow:
    return session.scalars(
        select(MaintenanceWindow).where(
            MaintenanceWindow.client_id == client_id, MaintenanceWindow.name == name
        )
    ).one()


@dataclass(frozen=True)
class Snapshot:
    """Everything a no-op apply must leave exactly as it was."""

    clients: list[tuple[str, datetime, str]]
    windows: list[tuple[int, str, datetime, bool]]
    rule_ids: list[int]
    ring_ids: list[int]
    blackout_ids: list[int]
    blocked: list[tuple[str, str, datetime]]
    events: int
    audit: int


def snapshot(session: Session) -> Snapshot:
    return Snapshot(
        clients=sorted((c.id, c.updated_at, c.name) for c in session.scalars(select(Client))),
        windows=sorted(
            (w.id, w.name, w.updated_at, w.active)
            for w in session.scalars(select(MaintenanceWindow))
        ),
        rule_ids=sorted(session.scalars(select(ApprovalRule.id))),
        ring_ids=sorted(session.scalars(select(Ring.id))),
        blackout_ids=sorted(session.scalars(select(WindowBlackout.id))),
        blocked=sorted(
            (b.patch_vendor_id, b.reason, b.blocked_at)
            for b in session.scalars(select(BlockedPatch))
        ),
        events=count(session, Event),
        audit=count(session, RemediationRecord),
    )


def test_apply_examples_writes_the_expected_rows(database: Database) -> None:
    report = apply(database, load(EXAMPLES))
    assert report.changed
    assert {c.client_id: c.created for c in report.clients} == {
        "harbour-dental": True,
        "kessler-engineering": True,
        "lakeside-vet": True,
        "fenwick-legal": True,
        "southern-cross-accounting": True,
    }
    with database.session() as session:
        dental = session.get(Client, "harbour-dental")
        assert dental is not None
        assert (dental.name, dental.timezone, dental.sla_tier) == (
            "Harbour Dental Group",
            "America/New_York",
            "gold",
        )
        assert dental.created_at == dental.updated_at == NOW

        scope = session.get(ClientScope, "harbour-dental")
        assert scope is not None
        assert scope.include_roles == []
        assert scope.include_os == ["windows"]
        assert scope.exclude_devices == ["HDG-BOS-XRAY01", "HDG-QCY-XRAY01"]
        assert scope.patch_os is True
        assert scope.notes.startswith("The X-ray acquisition PCs")

        servers = window(session, "harbour-dental", "Practice servers")
        assert servers.active
        assert servers.recurrence is RecurrenceKind.PATCH_TUESDAY
        assert (servers.offset_days, servers.nth, servers.weekdays) == (2, None, [])
        assert servers.start_time == time(21, 0)
        assert servers.duration_minutes == 240
        assert servers.reboot_policy is RebootPolicy.ALWAYS
        assert servers.checkin_timeout_minutes == 20
        assert servers.max_concurrent == 2
        assert servers.applies_roles == ["server"]
        assert servers.updated_at == NOW
        assert [(b.start_date, b.end_date, b.reason) for b in servers.blackouts] == [
            (date(2026, 12, 23), date(2027, 1, 2), "Year-end insurance billing run")
        ]
        laptops = window(session, "harbour-dental", "Dentists' laptops")
        assert (laptops.weekdays, laptops.duration_minutes) == (["wed"], 90)
        assert (laptops.max_deferrals, laptops.deferral_minutes) == (3, 60)
        build = window(session, "kessler-engineering", "Linux build hosts")
        assert (build.recurrence, build.nth, build.weekdays) == (
            RecurrenceKind.MONTHLY,
            -1,
            ["sun"],
        )
        assert build.applies_tags == ["build"]

        rules = session.scalars(
            select(ApprovalRule)
            .where(ApprovalRule.client_id == "harbour-dental")
            .order_by(ApprovalRule.position)
        ).all()
        assert [(r.position, r.name, r.action, r.days) for r in rules] == [
            (0, "Antivirus definitions", RuleAction.AUTO, 0),
            (1, "Critical security fixes", RuleAction.AUTO, 2),
            (2, "Other security fixes", RuleAction.AUTO, 7),
            (3, "Browsers and PDF reader", RuleAction.AUTO, 3),
            (4, "Windows feature upgrades", RuleAction.DEFER, 120),
            (5, "Drivers", RuleAction.MANUAL, 0),
            (6, "Everything else", RuleAction.MANUAL, 0),
        ]
        assert rules[1].match == {
            "classifications": ["security", "critical"],
            "severities": ["critical"],
        }
        assert rules[6].match == {}  # the explicit catch-all

        rings = session.scalars(
            select(Ring).where(Ring.client_id == "kessler-engineering").order_by(Ring.position)
        ).all()
        assert [(r.name, r.tags, r.soak_hours, r.min_success_rate) for r in rings] == [
            ("pilot", ["it-pilot"], 48, 0.95),
            ("broad", [], 0, 0.9),
        ]

        blocked = session.scalars(select(BlockedPatch).order_by(BlockedPatch.patch_vendor_id))
        assert [(b.patch_vendor_id, b.blocked_by, b.blocked_at) for b in blocked] == [
            ("KB5034441", "j.okafor", datetime(2026, 1, 12, 14, 40, tzinfo=UTC)),
            ("KB5063878", "m.schulz", datetime(2026, 8, 20, 14, 5, tzinfo=UTC)),
        ]

        applied = session.scalars(
            select(Event).where(Event.kind == "policy.applied").order_by(Event.id)
        ).all()
        assert [(e.entity, e.entity_id, e.client_id) for e in applied] == [
            ("client", "harbour-dental", "harbour-dental"),
            ("client", "kessler-engineering", "kessler-engineering"),
            ("client", "lakeside-vet", "lakeside-vet"),
            ("client", "fenwick-legal", "fenwick-legal"),
            ("client", "southern-cross-accounting", "southern-cross-accounting"),
            ("blocklist", "global", None),
        ]
        assert applied[0].payload["created"] is True
        assert applied[0].payload["windows_added"] == [
            "Practice servers",
            "Front desk and operatories",
            "Dentists' laptops",
            "Weekend catch-up",
        ]
        records = session.scalars(select(RemediationRecord).order_by(RemediationRecord.seq)).all()
        assert [(r.action, r.outcome, r.actor, r.operator, r.client_id) for r in records] == [
            ("policy.apply", "applied", OPERATOR, OPERATOR, e.client_id) for e in applied
        ]
        assert records[0].note == "created with 4 windows, 7 approval rules, 0 rings"
        assert verify_chain(session).ok


def test_reapplying_the_same_files_changes_nothing(database: Database) -> None:
    apply(database, load(EXAMPLES))
    with database.session() as session:
        before = snapshot(session)
    report = apply(database, load(EXAMPLES), now=LATER)
    assert not report.changed
    assert all(c.summary() == "unchanged" for c in report.clients)
    with database.session() as session:
        assert snapshot(session) == before


def test_a_changed_window_changes_only_that_window(database: Database, tmp_path: Path) -> None:
    folder = examples(tmp_path)
    apply(database, load(folder))
    with database.session() as session:
        before = snapshot(session)
    berlin = folder / "kessler-engineering.toml"
    text = berlin.read_text(encoding="utf-8")
    berlin.write_text(text.replace('duration = "2h30m"', 'duration = "3h"'), encoding="utf-8")

    report = apply(database, load(folder), now=LATER)

    changed = [c for c in report.clients if c.changed]
    assert [(c.client_id, c.summary()) for c in changed] == [
        ("kessler-engineering", "window 'Linux build hosts' changed (duration)")
    ]
    with database.session() as session:
        after = snapshot(session)
        build = window(session, "kessler-engineering", "Linux build hosts")
        assert build.duration_minutes == 180
        event = session.scalars(select(Event).order_by(Event.id.desc()).limit(2)).all()[1]
        assert (event.kind, event.client_id) == ("policy.applied", "kessler-engineering")
        assert event.payload["windows_changed"] == {"Linux build hosts": ["duration"]}
    expected = replace(
        before,
        windows=[
            (id_, name, LATER, active) if name == "Linux build hosts" else (id_, name, at, active)
            for id_, name, at, active in before.windows
        ],
        events=before.events + 2,  # policy.applied and remediation.logged
        audit=before.audit + 1,
    )
    assert after == expected


def test_removed_window_is_deactivated_and_comes_back(database: Database) -> None:
    text = (EXAMPLES / "southern-cross-accounting.toml").read_text(encoding="utf-8")
    start = text.index('[[client.windows]]\nname = "Servers, last Sunday')
    end = text.index("[[client.windows]]", start + 1)
    without = text[:start] + text[end:]

    def policies(body: str) -> PolicySet:
        result = load_sources([("sca.toml", body)])
        assert isinstance(result, PolicySet), [str(p) for p in result]
        return result

    apply(database, policies(text))
    report = apply(database, policies(without), now=LATER)
    assert report.clients[0].summary() == (
        "window 'Servers, last Sunday (catch-up)' deactivated (no longer in the policy)"
    )
    with database.session() as session:
        gone = window(session, "southern-cross-accounting", "Servers, last Sunday (catch-up)")
        assert (gone.active, gone.updated_at) == (False, LATER)
        window_id = gone.id
        assert count(session, MaintenanceWindow) == 3
        export = read_export(session, "southern-cross-accounting", now=LATER)
        assert export is not None
        assert [w.name for w in export.client.windows] == [
            "Servers, Saturday after Patch Tuesday",
            "Staff computers",
        ]

    assert not apply(database, policies(without), now=LATER + timedelta(hours=1)).changed
    report = apply(database, policies(text), now=LATER + timedelta(hours=2))
    assert report.clients[0].windows_reactivated == ["Servers, last Sunday (catch-up)"]
    with database.session() as session:
        back = window(session, "southern-cross-accounting", "Servers, last Sunday (catch-up)")
        assert (back.id, back.active) == (window_id, True)


def test_changed_rules_blackouts_and_block_list(database: Database, tmp_path: Path) -> None:
    folder = examples(tmp_path)
    apply(database, load(folder))
    with database.session() as session:
        ring_ids = sorted(session.scalars(select(Ring.id)))
    dental = folder / "harbour-dental.toml"
    text = dental.read_text(encoding="utf-8")
    text = text.replace("days = 120", "days = 150")
    text = text.replace("to = 2027-01-02,", "to = 2027-01-04,")
    dental.write_text(text, encoding="utf-8")
    blocklist = folder / "blocklist.toml"
    blocklist.write_text(
        "\n".join(blocklist.read_text(encoding="utf-8").splitlines()[:8]).replace(
            'blocked_by = "j.okafor"', 'blocked_by = "m.schulz"'
        )
        + "\n",
        encoding="utf-8",
    )

    report = apply(database, load(folder), now=LATER)

    dental_changes = next(c for c in report.clients if c.client_id == "harbour-dental")
    assert dental_changes.summary() == (
        "window 'Practice servers' changed (blackouts); approval rules replaced (7 rules)"
    )
    assert (report.blocklist.added, report.blocklist.updated) == ([], ["KB5034441"])
    with database.session() as session:
        defer = session.scalars(
            select(ApprovalRule).where(
                ApprovalRule.client_id == "harbour-dental", ApprovalRule.position == 4
            )
        ).one()
        assert (defer.action, defer.days) == (RuleAction.DEFER, 150)
        servers = window(session, "harbour-dental", "Practice servers")
        assert [b.end_date for b in servers.blackouts] == [date(2027, 1, 4)]
        assert sorted(session.scalars(select(Ring.id))) == ring_ids  # rings untouched
        # The entry left out of the file stays blocked: lifting a block is a technician's job.
        assert sorted(session.scalars(select(BlockedPatch.patch_vendor_id))) == [
            "KB5034441",
            "KB5063878",
        ]
        assert (
            session.scalars(
                select(BlockedPatch.blocked_by).where(BlockedPatch.patch_vendor_id == "KB5034441")
            ).one()
            == "m.schulz"
        )


def test_bad_file_applies_nothing_through_the_cli(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = examples(tmp_path)
    sydney = folder / "southern-cross-accounting.toml"
    sydney.write_text(
        sydney.read_text(encoding="utf-8").replace(
            "min_success_rate = 1.0", "min_success_rate = 1.5"
        ),
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", database.url, "policy", "apply", str(folder)])
    assert exit_info.value.code == 2
    _, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{sydney}:100: client.rings[0].min_success_rate: must be between 0 and 1 "
        "(0.95 means 95%), got 1.5",
        "nothing applied: 1 problem",
    ]
    with database.session() as session:
        assert count(session, Client) == 0
        assert count(session, BlockedPatch) == 0
        assert count(session, Event) == 0


def test_apply_and_export_through_the_cli(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    for expected in ("created with", "no changes: 5 clients and 2 block-list entries"):
        with pytest.raises(SystemExit) as exit_info:
            main(["--db", database.url, "--operator", OPERATOR, "policy", "apply", str(EXAMPLES)])
        assert exit_info.value.code == 0
        out, _ = capsys.readouterr()
        assert expected in out
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", database.url, "policy", "export", "--client", "nobody"])
    assert exit_info.value.code == 2
    _, err = capsys.readouterr()
    assert err.startswith("patchdesk: unknown client 'nobody' (known: fenwick-legal, ")

    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "--db",
                database.url,
                "policy",
                "export",
                "--client",
                "lakeside-vet",
                "--format",
                "json",
            ]
        )
    assert exit_info.value.code == 0
    out, _ = capsys.readouterr()
    assert json.loads(out)["client"]["id"] == "lakeside-vet"


def test_export_markdown_has_the_sections(database: Database) -> None:
    apply(database, load(EXAMPLES))
    with database.session() as session:
        export = read_export(session, "kessler-engineering", now=LATER)
    assert export is not None
    text = export_markdown(export)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Patch policy: Kessler & Söhne Ingenieure GmbH",
        "## Patch scope",
        "## Maintenance windows",
        "### Server – Samstag früh",
        "### Workstations – Mittwochabend",
        "### Linux build hosts",
        "## Approval rules",
        "## Deployment rings",
        "## Global block list",
    ]
    expected_lines = [
        "- **Sites:** only devices at Berlin-Mitte or Potsdam",
        "- **Excluded devices:** KSI-LIC-01",
        "- **When:** every Saturday, 05:00 to 08:00 (3 hours), Europe/Berlin time",
        "- **When:** on the last Sunday of every month, 23:00 to 01:30 the next day "
        "(2 hours 30 minutes), Europe/Berlin time",
        "- **User deferrals:** users may postpone up to 2 times, 45 minutes each; after that "
        "the update goes ahead",
        "- **Check-in after restart:** within 15 minutes, or the device is reported as a "
        "failed patch",
        "- **Restarts:** always restarted after patching",
        "- **Devices at a time:** at most 25",
        "- **No patching (blackouts):** 2026-12-19 to 2027-01-03 – Betriebsferien (office "
        "closed); 2027-03-27 to 2027-04-05 – Quarter-end tender submissions",
        "1. **Preview builds**: Patches whose title matches `` (?i)\\bpreview\\b ``: blocked "
        "(never installed)",
        "2. **Feature upgrades**: Feature upgrades: deferred until 90 days after release",
        "4. **Critical and important security updates**: Security updates or critical updates "
        "of critical or important severity: approved automatically",
        "5. **Monthly rollups**: Update rollups or security updates: approved automatically "
        "5 days after release",
        "1. **pilot**: devices tagged it-pilot. Soaks for 2 days; the next ring starts when at "
        "least 95% of this ring's devices were patched successfully.",
        "2. **broad**: every device in scope that is not in an earlier ring.",
        "- **KB5034441**: Windows Recovery Environment update fails with 0x80070643 when the "
        "recovery partition is too small, then retries every cycle. (blocked by j.okafor on "
        "2026-01-12)",
    ]
    lines = text.splitlines()
    for line in expected_lines:
        assert line in lines, line


def test_export_json_round_trips_the_policy_file(database: Database) -> None:
    policies = load(EXAMPLES)
    apply(database, policies)
    for client in policies.clients:
        with database.session() as session:
            export = read_export(session, client.id, now=LATER)
        assert export is not None
        document = json.loads(json.dumps(export_json(export)))
        assert document["generated_at"] == LATER.isoformat()
        again = PolicyDocument.model_validate_json(
            json.dumps({"client": document["client"], "blocklist": document["blocklist"]})
        )
        assert again.client == client
        assert again.blocklist == policies.blocklist
        assert len(document["in_words"]["windows"]) == len(client.windows)
        assert len(document["in_words"]["approval_rules"]) == len(client.approval_rules)


def test_export_escapes_markdown_in_untrusted_text(database: Database) -> None:
    text = (
        '[client]\nid = "x"\nname = "<b>*Evil*</b> \\u001b[31m"\ntimezone = "UTC"\n'
        'sla_tier = "bronze"\n[client.scope]\nnotes = "[click](http://x)"\n'
    )
    result = load_sources([("x.toml", text)])
    assert isinstance(result, PolicySet)
    apply(database, result)
    with database.session() as session:
        stored = session.get(Client, "x")
        assert stored is not None
        assert stored.name == "<b>*Evil*</b> \x1b[31m"  # stored as given
        export = read_export(session, "x", now=LATER)
    assert export is not None
    text = export_markdown(export)
    assert "# Patch policy: \\<b\\>\\*Evil\\*\\</b\\> \\[31m" in text
    assert "- **Notes:** \\[click\\](http://x)" in text
    assert "\x1b" not in text


SPOOF_POLICY = r"""
[client]
id = "spoof"
name = "Acme\u202e Dental"
timezone = "UTC"
sla_tier = "bronze"

[client.scope]
include_tags = ["pilot\u200b"]
exclude_devices = ["srv\u202egpj.exe"]
notes = "line\u2028two\ufeff"

[[client.windows]]
name = "Nights\u2066"
recurrence = { type = "weekly", days = ["tue"] }
start = "22:00"
duration = "2h"
reboot = "if_required"
checkin_timeout = "30m"
max_concurrent = 5
blackouts = [{ from = 2027-01-01, to = 2027-01-02, reason = "freeze\u00ad" }]

[[client.approval_rules]]
name = "Everything\u200e"
match = { title_pattern = "Security\u200b" }
action = "manual"

[[client.rings]]
name = "pilot\u2060"
tags = ["pilot\u200b"]
soak = "1d"
min_success_rate = 0.9

[[client.rings]]
name = "broad"
tags = []
soak = "1d"
min_success_rate = 0.9

[[blocklist]]
patch_id = "KB1\u200b"
reason = "breaks\u202e printing"
blocked_by = "j.okafor"
blocked_at = 2026-01-12T09:40:00-05:00
"""


def test_export_shows_spoofing_characters_and_json_keeps_them_exactly(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bidi and zero-width characters in a policy (TOML escapes in the file) reach the
    markdown as ``<U+XXXX>``; the JSON export keeps them exactly, as ``\\uXXXX`` escapes,
    so that it validates as the same policy again."""
    from patchdesk.text import is_hidden

    policies = load_sources([("spoof.toml", SPOOF_POLICY)])
    assert isinstance(policies, PolicySet)
    apply(database, policies)
    with database.session() as session:
        export = read_export(session, "spoof", now=LATER)
    assert export is not None
    text = export_markdown(export)
    assert [c for c in text if is_hidden(c)] == []
    # (markdown escapes the placeholder's angle brackets, outside code spans)
    for line in (
        r"# Patch policy: Acme\<U+202E\> Dental",
        r"- **Device tags:** only devices tagged pilot\<U+200B\>",
        r"- **Excluded devices:** srv\<U+202E\>gpj.exe",
        r"- **Notes:** line\<U+2028\>two\<U+FEFF\>",
        r"### Nights\<U+2066\>",
        r"- **No patching (blackouts):** 2027-01-01 to 2027-01-02 – freeze\<U+00AD\>",
        r"1. **Everything\<U+200E\>**: Patches whose title matches `` Security<U+200B> ``: "
        "wait for a technician's approval",
        r"1. **pilot\<U+2060\>**: devices tagged pilot\<U+200B\>. Soaks for 1 day; the next "
        "ring starts when at least 90% of this ring's devices were patched successfully.",
        r"- **KB1\<U+200B\>**: breaks\<U+202E\> printing (blocked by j.okafor on 2026-01-12)",
    ):
        assert line in text.splitlines(), line

    for fmt in ("md", "json"):
        with pytest.raises(SystemExit) as exit_info:
            main(["--db", database.url, "policy", "export", "--client", "spoof", "--format", fmt])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert [c for c in out if is_hidden(c)] == [], fmt
    assert "\\u202e" in out
    document = json.loads(out)
    again = PolicyDocument.model_validate_json(
        json.dumps({"client": document["client"], "blocklist": document["blocklist"]})
    )
    assert again.client == policies.clients[0]
    assert again.blocklist == policies.blocklist
