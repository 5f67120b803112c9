"""The client's post-patch report on a client patched by the real engine
(``client_report_world``: a marker in every free-text field the database has): no marker,
none of the engine's sentences and no internal code reaches any client format, while the
internal report still carries them; the windows are as scheduled, with the technician's
retry after the window listed apart; each problem in plain words; the executive summary.
On SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from patchdesk.domain import (
    Classification,
    ExceptionState,
    RequestKind,
    Role,
    TargetState,
)
from patchdesk.reports.client_model import Branding, ClientReport
from patchdesk.reports.client_view import client_view
from patchdesk.reports.cycle_formats import FORMATS, document
from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.rules.response_paths import RESPONSE_PATHS
from patchdesk.rules.verdicts import Cause
from patchdesk.store.db import Database, open_database
from patchdesk.store.models import RemediationRecord
from patchdesk.store.report_model import CycleReport
from patchdesk.store.report_views import cycle_report
from tests.conftest import BACKENDS
from tests.databases import fresh_postgres, migrated_sqlite, postgres_url
from tests.reports.client_report_world import CLIENT, MARKERS, NOW, ClientWorld, build

NOV = Cycle(2026, 11)
BRANDING = Branding("Harbour IT", "noc@harbour.example", "HARBOUR")
_CODE_LIKE = re.compile(r"[._:]")


def internal_codes(database: Database) -> set[str]:
    """Every code a report could leak: the log's recorded actions and outcomes, the
    engine's causes, target, exception and command states, roles, classifications and
    remediation action ids (those that cannot be plain English: with ``_ . :``)."""
    with database.session() as session:
        logged = set(session.scalars(select(RemediationRecord.action))) | set(
            session.scalars(select(RemediationRecord.outcome))
        )
    enums = [
        *Cause,
        *TargetState,
        *ExceptionState,
        *RequestKind,
        *Role,
        *Classification,
    ]
    actions = [a.id for path in RESPONSE_PATHS.values() for a in path]
    codes = {str(c) for c in [*logged, *enums, *actions] if _CODE_LIKE.search(str(c))}
    codes |= {"exception.open", "remediate:", "reboot_no_boot", "command."}
    return codes


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClientWorld]:
    if request.param == "sqlite":
        url = migrated_sqlite(tmp_path_factory.mktemp("client") / "client.db")
    else:
        url = postgres_url()
        fresh_postgres(url)
    database = open_database(url)
    yield build(database)
    database.dispose()


@pytest.fixture(scope="module")
def internal(world: ClientWorld) -> CycleReport:
    with world.db.session() as session:
        report = cycle_report(session, CLIENT, NOV, NOW)
    assert report is not None
    return report


@pytest.fixture(scope="module")
def client(internal: CycleReport) -> ClientReport:
    return client_view(internal, BRANDING)


@pytest.mark.parametrize("fmt", FORMATS)
def test_nothing_internal_reaches_any_client_format(
    world: ClientWorld, internal: CycleReport, fmt: str
) -> None:
    text = document(internal, fmt, "client", BRANDING)
    lowered = text.lower()
    leaked = [field for field, marker in MARKERS.items() if marker.lower() in lowered]
    assert leaked == [], f"client {fmt} shows: {leaked}"
    assert world.engine_texts, "the engine wrote its sentences"
    said = [note for note in world.engine_texts if note in text]
    assert said == [], f"client {fmt} quotes the engine: {said}"
    # JSON's own keys are the client format's vocabulary (``next_window``), not codes: look
    # at its values only.
    shown = text if fmt != "json" else "\n".join(_values(json.loads(text)))
    codes = sorted(code for code in internal_codes(world.db) if code in shown)
    assert codes == [], f"client {fmt} shows internal codes: {codes}"
    assert re.search(r"\bengine\b", lowered) is None
    assert "Harbour IT" in text or fmt == "csv"  # the MSP's name (CSV: rows only)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_internal_report_keeps_the_detail(
    world: ClientWorld, internal: CycleReport, fmt: str
) -> None:
    """The check above can fail: the same markers are in the internal report (CSV has no
    history, only the targets' errors)."""
    text = document(internal, fmt, "internal", BRANDING)
    expected = (
        ["error message"]
        if fmt == "csv"
        else [
            "note",
            "remediation note",
            "resolve note",
            "acknowledging operator",
            "assignee",
            "escalated to",
            "emergency reason",
            "emergency operator",
            "exception summary",
            "manual outcome",
            "scope notes",
        ]
    )
    missing = [field for field in expected if MARKERS[field] not in text]
    assert missing == []
    if fmt != "csv":
        assert "exception.open" in text
        assert any(code in text for code in internal_codes(world.db) - {"command."})


def test_windows_are_as_scheduled_and_a_retry_after_one_is_listed_apart(
    internal: CycleReport, client: ClientReport
) -> None:
    (nightly,) = [w for w in internal.windows if not w.emergency]
    # The engine gave the retry an hour past the window: the deployment's end moved.
    assert nightly.end > nightly.scheduled_end
    assert nightly.scheduled_end - nightly.start == timedelta(hours=4)
    (window, urgent) = client.windows
    assert (window.name, window.start, window.end) == (
        "Nightly",
        nightly.start,
        nightly.scheduled_end,
    )
    assert urgent.urgent
    assert urgent.name.startswith("Urgent update")
    (retry,) = client.outside_windows
    assert retry.hostname == "INST01"
    assert retry.at >= nightly.scheduled_end
    assert retry.result == "updated"
    text = document(internal, "md", "client", BRANDING)
    assert "| Nightly | Thu 26 Nov 2026, 21:00 – 01:00 EST (Fri 27 Nov) |" in text
    assert "| INST01 | Nightly, Thu 26 Nov 2026, 21:00 EST | Fri 27 Nov 2026, 01:" in text


def test_each_problem_in_plain_words(client: ClientReport) -> None:
    said = {e.hostname: e.sentence for e in client.events}
    assert said["INST01"] == (
        "The update failed to install; an engineer cleared the update cache and retried the "
        "installation, then resolved it on 27 Nov."
    )
    assert said["BOOT01"] == (
        "The device did not come back after its restart; an engineer restarted the device "
        "remotely and escalated it for specialist help; still open: being worked on."
    )
    # a manual action whose outcome was not "done": tried, not done
    assert said["LOST01"] == (
        "The device did not come back online after its restart; an engineer woke the device "
        "over the network and tried to contact the site; still open: an engineer is working "
        "on it."
    )
    assert said["HEALTH01"].startswith(
        "A service on the device stopped working properly after the update; an engineer "
        "rolled the update back and withheld the update from your devices, then resolved it"
    )
    assert said["OFF01"].startswith("The device was offline for its whole maintenance window;")
    outstanding = {o.hostname: o.why for o in client.outstanding}
    assert outstanding == {
        "BOOT01": "escalated for specialist help and being worked on",
        "LOST01": "an engineer is working on it",
        "OFF01": "an engineer is working on it",
    }


def test_the_summary_says_it_in_three_to_five_sentences(client: ClientReport) -> None:
    assert 3 <= len(client.summary) <= 5
    assert client.summary[0] == (
        "So far this cycle, 1 maintenance window reached 7 of your 7 devices in scope; "
        "3 of them have been updated successfully."
    )
    assert client.summary[2].startswith("5 problems needed an engineer: 2 resolved, 3 still open.")
    assert client.summary[-1] == (
        "The next maintenance window is Nightly, Sat 28 Nov 2026, 21:00 EST."
    )
    (upcoming,) = client.next_windows
    assert upcoming.name == "Nightly"


def test_client_json_is_one_document_in_the_clients_zone(internal: CycleReport) -> None:
    parsed = json.loads(document(internal, "json", "client", BRANDING))
    assert parsed["audience"] == "client"
    assert parsed["timezone"] == "America/New_York"
    assert parsed["as_of"] == {
        "local": "2026-11-28T10:00:00-05:00",
        "text": "Sat 28 Nov 2026, 10:00 EST",
    }
    assert parsed["prepared_by"]["name"] == "Harbour IT"


def test_the_client_model_has_no_place_for_internal_detail() -> None:
    """A guard on the model itself: no field whose name says note, operator, owner, actor,
    reason, summary, error, code, id or tier, at any depth."""
    import dataclasses
    import typing

    from patchdesk.reports import client_model

    forbidden = re.compile(r"note|operator|owner|actor|reason|summary_|error|code|_id$|^id$|tier")
    seen: set[type] = set()

    def walk(cls: type) -> list[str]:
        if cls in seen or not dataclasses.is_dataclass(cls):
            return []
        seen.add(cls)
        found = []
        hints = typing.get_type_hints(cls, vars(client_model))
        for f in dataclasses.fields(cls):
            if forbidden.search(f.name):
                found.append(f"{cls.__name__}.{f.name}")
            for arg in [hints[f.name], *typing.get_args(hints[f.name])]:
                for inner in [arg, *typing.get_args(arg)]:
                    if isinstance(inner, type):
                        found += walk(inner)
        return found

    assert walk(ClientReport) == []
    assert len(seen) > 8


def _values(document: object) -> list[str]:
    """Every string value of a JSON document (not its keys)."""
    if isinstance(document, dict):
        return [v for value in document.values() for v in _values(value)]
    if isinstance(document, list):
        return [v for value in document for v in _values(value)]
    return [str(document)] if document is not None else []
