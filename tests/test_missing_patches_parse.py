"""Parsing a missing-patch report: every problem, with its line and column (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from patchdesk.domain import Classification, Severity
from patchdesk.inventory.patches import MissingRow, parse_missing_patches
from patchdesk.inventory.records import Invalid

HEADER = (
    "client,hostname,patch_id,title,vendor,product,classification,severity,"
    "release_date,reboot_required\n"
)
KNOWN = {
    "harbour-dental": ["HDG-BOS-DC01", "HDG-BOS-FRONT01"],
    "kessler-engineering": ["KSI-CAD-WEBER"],
    "empty-client": [],
}
CU = (
    'KB5072033,"2026-11 Cumulative Update for Windows 11, version 24H2 (KB5072033)",'
    "Microsoft,Windows 11,security,critical,2026-11-10,true"
)


def parse(text: str, client: str | None = None) -> list[MissingRow] | Invalid:
    return parse_missing_patches(text.encode(), known_devices=KNOWN, default_client=client)


def problems(text: str, client: str | None = None) -> list[str]:
    result = parse(text, client)
    assert isinstance(result, Invalid), result
    return result.render("f.csv")


def test_good_rows() -> None:
    text = (
        HEADER
        + f"harbour-dental,HDG-BOS-FRONT01,{CU}\n"
        + f"harbour-dental,hdg-bos-dc01,{CU}\n"  # stored spelling is kept
        + "\n"
        + "kessler-engineering , KSI-CAD-WEBER ,7zip.7zip-26.00,7-Zip 26.00 (x64),Igor Pavlov,"
        "7-Zip,THIRD_PARTY,,2026-11-03,No\n"
    )
    rows = parse(text)
    assert isinstance(rows, list)
    assert [(r.line, r.client_id, r.hostname) for r in rows] == [
        (2, "harbour-dental", "HDG-BOS-FRONT01"),
        (3, "harbour-dental", "HDG-BOS-DC01"),
        (5, "kessler-engineering", "KSI-CAD-WEBER"),
    ]
    cu, zip_ = rows[0].patch, rows[2].patch
    assert cu.title == "2026-11 Cumulative Update for Windows 11, version 24H2 (KB5072033)"
    assert (cu.classification, cu.severity, cu.release_date) == (
        Classification.SECURITY,
        Severity.CRITICAL,
        date(2026, 11, 10),
    )
    assert cu.reboot_required is True
    assert (zip_.classification, zip_.severity, zip_.reboot_required) == (
        Classification.THIRD_PARTY,
        Severity.UNSPECIFIED,
        False,
    )


def test_client_option_stands_in_for_the_column() -> None:
    header = HEADER.replace("client,", "", 1)
    rows = parse(header + f"HDG-BOS-DC01,{CU}\n", client="harbour-dental")
    assert isinstance(rows, list)
    assert rows[0].client_id == "harbour-dental"


def test_every_bad_row_is_reported() -> None:
    text = (
        HEADER
        + f"harbour-dental,HDG-BOS-DC01,{CU}\n"
        + "harbour-dental,HDG-NOPE,KB1,t,v,p,security,critical,2026-11-10,true\n"
        + "nobody,HDG-BOS-DC01,KB1,t,v,p,security,critical,2026-11-10,true\n"
        + "harbour-dental,HDG-BOS-DC01,KB\x1b1,,v,p,securty,urgent,10/11/2026,maybe\n"
        + "harbour-dental,HDG-BOS-DC01,KB2,t,v,p,security,low,2026-02-30,\n"
        + f"harbour-dental,HDG-BOS-DC01,{CU}\n"
        + "harbour-dental,HDG-BOS-FRONT01,KB5072033,Other title,Microsoft,Windows 11,"
        "security,critical,2026-11-11,true\n"
        + "harbour-dental,HDG-BOS-DC01,KB3\n"
        + ",HDG-BOS-DC01,KB4,t,v,p,update,low,2026-11-10,false\n"
    )
    assert problems(text) == [
        "f.csv:3: hostname: 'HDG-NOPE' is not a device of client 'harbour-dental' "
        "(devices are added by 'patchdesk inventory import')",
        "f.csv:4: client: unknown client 'nobody' (clients are created by 'patchdesk policy "
        "apply')",
        "f.csv:5: patch_id: contains control character U+001B",
        "f.csv:5: title: empty",
        "f.csv:5: classification: unknown classification 'securty' (expected one of security, "
        "critical, definition, update_rollup, update, feature_upgrade, driver, third_party)",
        "f.csv:5: severity: unknown severity 'urgent' (expected one of critical, important, "
        "moderate, low, unspecified, or empty)",
        "f.csv:5: release_date: '10/11/2026' is not a date: use YYYY-MM-DD",
        "f.csv:5: reboot_required: 'maybe' (expected true or false)",
        "f.csv:6: release_date: '2026-02-30' is not a date: day is out of range for month",
        "f.csv:6: reboot_required: empty (expected true or false)",
        "f.csv:7: patch_id: 'KB5072033' for 'HDG-BOS-DC01' is already on line 2",
        "f.csv:8: title: differs from line 2 for patch 'KB5072033'",
        "f.csv:8: release_date: differs from line 2 for patch 'KB5072033'",
        "f.csv:9: row: 3 fields, the header has 10",
        "f.csv:10: client: empty, and no --client given",
    ]


@pytest.mark.parametrize(
    ("text", "client", "expected"),
    [
        (
            "",
            None,
            [
                "f.csv:1: header: empty file (expected a header: client, hostname, patch_id, "
                "title, vendor, product, classification, severity, release_date, "
                "reboot_required)"
            ],
        ),
        (
            "hostname,patch_id,title,vendor,product,classification,severity,release_date,"
            "reboot_required,colour\n",
            None,
            [
                "f.csv:1: header: unknown column 'colour'",
                "f.csv:1: header: missing column 'client' (or give --client)",
            ],
        ),
        (
            HEADER.replace("title", "patch_id"),
            None,
            [
                "f.csv:1: header: duplicate column 'patch_id'",
                "f.csv:1: header: missing column 'title'",
            ],
        ),
        (HEADER, "nobody", ["f.csv: --client: unknown client 'nobody'"]),
        (
            HEADER + f"kessler-engineering,KSI-CAD-WEBER,{CU}\n",
            "harbour-dental",
            ["f.csv:2: client: 'kessler-engineering' is not the --client 'harbour-dental'"],
        ),
    ],
)
def test_header_and_option_problems(text: str, client: str | None, expected: list[str]) -> None:
    assert problems(text, client) == expected


def test_not_utf8() -> None:
    data = (HEADER + "harbour-dental,HDG-BOS-DC01,KB1,caf\xe9\n").encode("latin-1")
    result = parse_missing_patches(data, known_devices=KNOWN)
    assert isinstance(result, Invalid)
    assert result.render("f.csv") == [
        "f.csv:2: encoding: not UTF-8 text (byte 0xe9); save the file as UTF-8 CSV"
    ]


def test_header_only_is_an_empty_import() -> None:
    assert parse(HEADER) == []
