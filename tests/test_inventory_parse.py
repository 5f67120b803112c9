"""Parsing and validating inventory CSV files (pure: no database)."""

from __future__ import annotations

import pytest

from patchdesk.domain import Criticality, Role
from patchdesk.inventory.devices import InventoryRow, parse_inventory, parse_tags
from patchdesk.inventory.records import Invalid

HEADER = "hostname,client,site,role,criticality,os,tags,external_id\n"
KNOWN = frozenset({"harbour-dental", "kessler-engineering"})
ROLES = "server, shared_workstation, single_user"
NO_CLIENT = "clients are created by 'patchdesk policy apply'"


def parse(
    text: str | bytes, *, client: str | None = None, known: frozenset[str] = KNOWN
) -> list[InventoryRow] | Invalid:
    data = text.encode() if isinstance(text, str) else text
    return parse_inventory(data, known_clients=known, default_client=client)


def rows(text: str | bytes, *, client: str | None = None) -> list[InventoryRow]:
    result = parse(text, client=client)
    assert isinstance(result, list), result
    return result


def problems(
    text: str | bytes, *, client: str | None = None, known: frozenset[str] = KNOWN
) -> list[str]:
    result = parse(text, client=client, known=known)
    assert isinstance(result, Invalid), result
    return result.render("hosts.csv")


# ----------------------------------------------------------------------------- good files


def test_a_good_row_becomes_an_inventory_row() -> None:
    text = (
        HEADER + "HD-DC01,harbour-dental,Main St,server,,Windows Server 2022,pilot;core,trmm-01\n"
    )
    assert rows(text) == [
        InventoryRow(
            line=2,
            client_id="harbour-dental",
            hostname="HD-DC01",
            site="Main St",
            role=Role.SERVER,
            criticality=Criticality.CRITICAL,
            os_name="Windows Server 2022",
            tags=("pilot", "core"),
            external_id="trmm-01",
        )
    ]


@pytest.mark.parametrize(
    ("role", "criticality", "expected"),
    [
        ("server", "", Criticality.CRITICAL),
        ("shared_workstation", "", Criticality.STANDARD),
        ("single_user", "", Criticality.STANDARD),
        ("server", "standard", Criticality.STANDARD),
        ("single_user", "critical", Criticality.CRITICAL),
        ("Server", "STANDARD", Criticality.STANDARD),
    ],
)
def test_empty_criticality_is_the_role_default(
    role: str, criticality: str, expected: Criticality
) -> None:
    [row] = rows(HEADER + f"H1,harbour-dental,,{role},{criticality},,,\n")
    assert row.role is Role(role.lower())
    assert row.criticality is expected


def test_empty_site_and_external_id_are_none() -> None:
    [row] = rows(HEADER + "H1,harbour-dental,,single_user,,,,\n")
    assert row.site is None
    assert row.external_id is None
    assert row.os_name == ""
    assert row.tags == ()


def test_columns_in_any_order_and_header_case_and_spaces_ignored() -> None:
    text = (
        " External_ID ,TAGS,os,Criticality,role,site,client,Hostname\n"
        "ext-9,vip,macOS 14,,single_user,Berlin,kessler-engineering,KE-MBP-07\n"
    )
    [row] = rows(text)
    assert (row.hostname, row.client_id, row.site) == ("KE-MBP-07", "kessler-engineering", "Berlin")
    assert (row.os_name, row.tags, row.external_id) == ("macOS 14", ("vip",), "ext-9")


def test_client_column_may_be_absent_or_empty_with_client_option() -> None:
    absent = "hostname,site,role,criticality,os,tags,external_id\nH1,,server,,,,\n"
    assert [r.client_id for r in rows(absent, client="harbour-dental")] == ["harbour-dental"]
    empty_or_same = HEADER + "H1,,,server,,,,\nH2,harbour-dental,,server,,,,\n"
    result = rows(empty_or_same, client="harbour-dental")
    assert [r.client_id for r in result] == ["harbour-dental", "harbour-dental"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ()),
        ("pilot", ("pilot",)),
        (" pilot ; vip ;; ;pilot", ("pilot", "vip")),
        ("ring 1;Ring 1", ("ring 1", "Ring 1")),
        (";;", ()),
    ],
)
def test_tags_are_split_trimmed_without_empties_or_repeats(
    raw: str, expected: tuple[str, ...]
) -> None:
    assert parse_tags(raw) == expected
    [row] = rows(HEADER + f'H1,harbour-dental,,server,,,"{raw}",\n')
    assert row.tags == expected


@pytest.mark.parametrize(
    "hostname",
    [
        "[bold red]HOST[/]",
        "[link=https://evil.example]click[/link]",
        "Zürich-Empfang",
        "受付-PC",
        "host,with,commas",
        'say "hi"',
        "WS 01",
        "\u202ereversed",
    ],
)
def test_hostnames_are_stored_verbatim(hostname: str) -> None:
    quoted = '"' + hostname.replace('"', '""') + '"'
    [row] = rows(HEADER + f"{quoted},harbour-dental,,single_user,,,,\n")
    assert row.hostname == hostname


def test_surrounding_whitespace_is_trimmed_and_inner_kept() -> None:
    [row] = rows(HEADER + '  WS  01 \t,  harbour-dental ," Main  St ",server , , Windows 11 ,,\n')
    assert (row.hostname, row.client_id, row.site, row.os_name) == (
        "WS  01",
        "harbour-dental",
        "Main  St",
        "Windows 11",
    )


def test_only_ascii_whitespace_is_trimmed() -> None:
    """Separators like U+001F are not whitespace to a person: no silent trimming."""
    assert problems(HEADER + '"\x1fHD-DC01",harbour-dental,,server,,,,\n') == [
        "hosts.csv:2: hostname: contains control character U+001F"
    ]
    [row] = rows(HEADER + 'H1,harbour-dental,"\u00a0Main St\u2003",server,,,,\n')
    assert row.site == "\u00a0Main St\u2003"


def test_byte_order_mark_crlf_blank_lines_and_empty_rows_are_fine() -> None:
    text = (
        "\ufeff" + HEADER.replace("\n", "\r\n") + "\r\nH1,harbour-dental,,server,,,,\r\n,,,,,,,\r\n"
    )
    [row] = rows(text)
    assert (row.hostname, row.line) == ("H1", 3)


def test_header_only_is_an_empty_inventory() -> None:
    assert rows(HEADER) == []


def test_same_hostname_for_two_clients_is_two_devices() -> None:
    text = HEADER + "H1,harbour-dental,,server,,,,\nH1,kessler-engineering,,server,,,,\n"
    assert [(r.client_id, r.line) for r in rows(text)] == [
        ("harbour-dental", 2),
        ("kessler-engineering", 3),
    ]


def test_hostnames_differing_in_case_are_different() -> None:
    """Hostnames are kept exactly as given, and so is the (client, hostname) key."""
    text = HEADER + "ws-01,harbour-dental,,server,,,,\nWS-01,harbour-dental,,server,,,,\n"
    assert [r.hostname for r in rows(text)] == ["ws-01", "WS-01"]


# ----------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "H1,harbour-dental,,desktop,,,,",
            f"hosts.csv:2: role: unknown role 'desktop' (expected one of {ROLES})",
        ),
        ("H1,harbour-dental,,,,,,", f"hosts.csv:2: role: empty (expected one of {ROLES})"),
        (
            "H1,harbour-dental,,server,high,,,",
            "hosts.csv:2: criticality: unknown criticality 'high' "
            "(expected one of critical, standard, or empty for the role's default)",
        ),
        (",harbour-dental,,server,,,,", "hosts.csv:2: hostname: empty"),
        ('"   ",harbour-dental,,server,,,,', "hosts.csv:2: hostname: empty"),
        ("H1,,,server,,,,", "hosts.csv:2: client: empty, and no --client given"),
        (
            "H1,acme,,server,,,,",
            f"hosts.csv:2: client: unknown client 'acme' ({NO_CLIENT})",
        ),
        ("H1,harbour-dental,,server,,,", "hosts.csv:2: row: 7 fields, the header has 8"),
        ("H1,harbour-dental,,server,,,,,", "hosts.csv:2: row: 9 fields, the header has 8"),
        ("H1", "hosts.csv:2: row: 1 field, the header has 8"),
    ],
)
def test_each_bad_value_is_reported_with_file_line_and_column(row: str, expected: str) -> None:
    assert problems(HEADER + row + "\n") == [expected]


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("\x00", "U+0000"),
        ("\x1b", "U+001B"),
        ("\t", "U+0009"),
        ("\n", "U+000A"),
        ("\x7f", "U+007F"),
        ("\x9b", "U+009B"),
    ],
)
def test_control_characters_in_hostname_are_rejected(char: str, code: str) -> None:
    text = HEADER + f'"HOST{char}NAME",harbour-dental,,server,,,,\n'
    assert problems(text) == [f"hosts.csv:2: hostname: contains control character {code}"]


def test_control_characters_in_any_column_are_refused() -> None:
    text = HEADER + 'H1,harbour-dental,"Main\x1bSt",server,,"Win\x00dows","a;b\x85",e\x7f\n'
    assert problems(text) == [
        "hosts.csv:2: site: contains control character U+001B",
        "hosts.csv:2: os: contains control character U+0000",
        "hosts.csv:2: tags: contains control character U+0085",
        "hosts.csv:2: external_id: contains control character U+007F",
    ]


@pytest.mark.parametrize(
    ("column", "row", "limit"),
    [
        ("hostname", "{long},harbour-dental,,server,,,,", 255),
        ("site", "H1,harbour-dental,{long},server,,,,", 200),
        ("os", "H1,harbour-dental,,server,,{long},,", 200),
        ("external_id", "H1,harbour-dental,,server,,,,{long}", 200),
    ],
)
def test_values_longer_than_the_store_allows(column: str, row: str, limit: int) -> None:
    assert isinstance(parse(HEADER + row.format(long="x" * limit) + "\n"), list)
    text = HEADER + row.format(long="x" * (limit + 1)) + "\n"
    expected = f"hosts.csv:2: {column}: longer than {limit} characters ({limit + 1})"
    assert problems(text) == [expected]


def test_duplicate_hostname_reports_the_second_row_and_names_the_first() -> None:
    text = (
        HEADER
        + "HD-FRONT01,harbour-dental,,shared_workstation,,,,\n"
        + "HD-DC01,harbour-dental,,server,,,,\n"
        + "HD-FRONT01,,,shared_workstation,,,,\n"
    )
    assert problems(text, client="harbour-dental") == [
        "hosts.csv:4: hostname: 'HD-FRONT01' for client 'harbour-dental' is already on line 2"
    ]


def test_duplicate_is_found_even_when_the_first_row_has_other_problems() -> None:
    text = HEADER + "H1,harbour-dental,,desktop,,,,\nH1,harbour-dental,,server,,,,\n"
    assert problems(text) == [
        f"hosts.csv:2: role: unknown role 'desktop' (expected one of {ROLES})",
        "hosts.csv:3: hostname: 'H1' for client 'harbour-dental' is already on line 2",
    ]


def test_row_naming_another_client_than_the_option() -> None:
    text = HEADER + "H1,kessler-engineering,,server,,,,\n"
    assert problems(text, client="harbour-dental") == [
        "hosts.csv:2: client: 'kessler-engineering' is not the --client 'harbour-dental'"
    ]


def test_unknown_client_option_is_reported_once_not_per_row() -> None:
    text = HEADER + "H1,,,server,,,,\nH2,,,server,,,,\nH3,nobody,,server,,,,\n"
    assert problems(text, client="nobody") == [
        f"hosts.csv: --client: unknown client 'nobody' ({NO_CLIENT})"
    ]


def test_every_bad_row_and_every_bad_column_is_reported_in_file_order() -> None:
    text = (
        HEADER
        + "H1,harbour-dental,,server,,,,\n"
        + ",acme,,laptop,,,,\n"
        + "H3,harbour-dental,,server,,,,\n"
        + "H4,harbour-dental,,single_user,urgent,,,\n"
    )
    assert problems(text) == [
        "hosts.csv:3: hostname: empty",
        f"hosts.csv:3: client: unknown client 'acme' ({NO_CLIENT})",
        f"hosts.csv:3: role: unknown role 'laptop' (expected one of {ROLES})",
        "hosts.csv:5: criticality: unknown criticality 'urgent' "
        "(expected one of critical, standard, or empty for the role's default)",
    ]


def test_values_in_messages_are_escaped() -> None:
    text = HEADER + 'H1,harbour-dental,,"\u202e[31mserver",,,,\n'
    assert problems(text) == [
        f"hosts.csv:2: role: unknown role '\\u202e[31mserver' (expected one of {ROLES})"
    ]


# ----------------------------------------------------------------------------- line numbers


def test_lines_count_physical_lines_across_multi_line_quoted_fields() -> None:
    text = (
        HEADER
        + 'H1,harbour-dental,,server,,"Windows Server\n2022\nDatacenter",,\n'  # lines 2-4
        + "\n"  # line 5
        + "H2,harbour-dental,,desktop,,,,\n"  # line 6
        + 'H3,harbour-dental,,kiosk,,,"pilot;\nvip",\n'  # lines 7-8
        + "H4,harbour-dental,,laptop,,,,\n"  # line 9
    )
    assert problems(text) == [  # a line break inside a value is a control character
        "hosts.csv:2: os: contains control character U+000A",
        f"hosts.csv:6: role: unknown role 'desktop' (expected one of {ROLES})",
        f"hosts.csv:7: role: unknown role 'kiosk' (expected one of {ROLES})",
        "hosts.csv:7: tags: contains control character U+000A",
        f"hosts.csv:9: role: unknown role 'laptop' (expected one of {ROLES})",
    ]
    good = (
        text.replace("desktop", "server")
        .replace("kiosk", "server")
        .replace("laptop", "server")
        .replace('"Windows Server\n2022\nDatacenter"', '"Windows Server 2022\n"')
        .replace('"pilot;\nvip"', '"pilot;vip\n\n"')
    )
    assert [(r.hostname, r.line) for r in rows(good)] == [
        ("H1", 2),
        ("H2", 5),
        ("H3", 6),
        ("H4", 9),
    ]
    assert rows(good)[0].os_name == "Windows Server 2022"  # trimmed: the break is not kept


def test_duplicate_names_the_first_rows_starting_line() -> None:
    text = HEADER + 'H1,harbour-dental,,server,,"a\n",,\n' + "H1,harbour-dental,,server,,,,\n"
    assert problems(text) == [
        "hosts.csv:4: hostname: 'H1' for client 'harbour-dental' is already on line 2"
    ]


# ----------------------------------------------------------------------------- bad files


def test_missing_columns_are_listed() -> None:
    assert problems("hostname,client,role\nH1,harbour-dental,server\n") == [
        "hosts.csv:1: header: missing column 'site'",
        "hosts.csv:1: header: missing column 'criticality'",
        "hosts.csv:1: header: missing column 'os'",
        "hosts.csv:1: header: missing column 'tags'",
        "hosts.csv:1: header: missing column 'external_id'",
    ]


def test_missing_client_column_without_option() -> None:
    text = "hostname,site,role,criticality,os,tags,external_id\nH1,,server,,,,\n"
    assert problems(text) == ["hosts.csv:1: header: missing column 'client' (or give --client)"]


def test_unknown_duplicate_and_unnamed_columns() -> None:
    header = "hostname,client,site,role,criticality,os,tags,external_id,owner,Role,\n"
    assert problems(header) == [
        "hosts.csv:1: header: unknown column 'owner'",
        "hosts.csv:1: header: duplicate column 'role'",
        "hosts.csv:1: header: column 11 has no name",
    ]


def test_semicolon_separated_file_gets_a_hint() -> None:
    text = HEADER.replace(",", ";") + "H1;harbour-dental;;server;;;;\n"
    result = problems(text)
    assert result[0] == (
        "hosts.csv:1: header: unknown column "
        "'hostname;client;site;role;criticality;os;tags;external_id'"
    )
    assert result[-1] == (
        "hosts.csv:1: header: the header is one column: the file looks ';'-separated, not ','"
    )


def test_empty_file() -> None:
    assert problems(b"") == [
        "hosts.csv:1: header: empty file (expected a header: "
        "hostname, client, site, role, criticality, os, tags, external_id)"
    ]


def test_file_that_is_not_utf8_names_the_line() -> None:
    data = (HEADER + "H1,harbour-dental,,server,,,,\nH2,harbour-dental,Köln,server,,,,\n").encode(
        "latin-1"
    )
    assert problems(data) == [
        "hosts.csv:3: encoding: not UTF-8 text (byte 0xf6); save the file as UTF-8 CSV"
    ]


def test_binary_file_is_not_a_csv() -> None:
    data = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb3\x8c\xfe\xff"
    assert problems(data) == [
        "hosts.csv:1: encoding: not UTF-8 text (byte 0xb3); save the file as UTF-8 CSV"
    ]


def test_unterminated_quote_is_reported_where_the_row_starts() -> None:
    text = (
        HEADER + "H1,harbour-dental,,laptop,,,,\n" + 'H2,harbour-dental,,server,,"Windows,,\nH3\n'
    )
    assert problems(text) == [
        f"hosts.csv:2: role: unknown role 'laptop' (expected one of {ROLES})",
        "hosts.csv:3: row: not valid CSV: unexpected end of data",
    ]


def test_text_after_a_closing_quote_is_not_csv() -> None:
    text = HEADER + '"H1"x,harbour-dental,,server,,,,\n'
    assert problems(text) == ["hosts.csv:2: row: not valid CSV: ',' expected after '\"'"]


def test_malformed_header_is_not_an_empty_file() -> None:
    assert problems('"hostname,client\n') == [
        "hosts.csv:1: row: not valid CSV: unexpected end of data"
    ]
