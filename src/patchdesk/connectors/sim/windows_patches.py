"""Microsoft's patches in the simulator catalogue: Windows, .NET, Office, SQL Server, Defender,
the malicious software removal tool, Edge, a feature upgrade, and drivers."""

from __future__ import annotations

from datetime import UTC, datetime

from patchdesk.connectors.sim.entry import (
    WINDOWS,
    WINDOWS_CLIENTS,
    WINDOWS_LABELS,
    WINDOWS_SERVERS,
    WORKSTATIONS,
    C,
    CatalogueEntry,
    Cycle,
    S,
    entry,
)
from patchdesk.domain import Role


def windows_patches(c: Cycle) -> list[CatalogueEntry]:
    return [*_windows_os(c), *_microsoft_products(c), *_drivers(c)]


def _windows_os(c: Cycle) -> list[CatalogueEntry]:
    found: list[CatalogueEntry] = []
    for index, (key, label) in enumerate(WINDOWS_LABELS.items()):
        keys = frozenset({key})
        kb = c.kb(100 + 17 * index)
        found.append(
            entry(
                kb,
                f"{c.ym} Cumulative Update for {label} for x64-based Systems ({kb})",
                "Microsoft",
                _product(key),
                C.SECURITY,
                S.CRITICAL,
                c.day(0),
                reboot=True,
                os_keys=keys,
                prevalence=0.97,
                minutes=14 if key in WINDOWS_SERVERS else 11,
                difficulty=1.5,
                errors="cumulative",
            )
        )
        dotnet = c.kb(400 + 13 * index)
        found.append(
            entry(
                dotnet,
                f"{c.ym} Cumulative Update for .NET Framework 3.5 and 4.8.1 for {label} "
                f"for x64 ({dotnet})",
                "Microsoft",
                ".NET Framework",
                C.SECURITY,
                S.IMPORTANT,
                c.day(0),
                reboot=False,
                os_keys=keys,
                prevalence=0.6,
                minutes=4,
                errors="msi",
            )
        )
    return found + _windows_extras(c)


def _product(key: str) -> str:
    if key.startswith("ws"):
        return f"Windows Server {key[2:]}"
    return "Windows 10" if key == "win10" else "Windows 11"


def _windows_extras(c: Cycle) -> list[CatalogueEntry]:
    found: list[CatalogueEntry] = []
    for index, key in enumerate(("win11-24h2", "win11-23h2", "win10")):
        kb = c.kb(700 + 11 * index)
        label = WINDOWS_LABELS[key]
        found.append(
            entry(
                kb,
                f"{c.ym} Cumulative Update Preview for {label} for x64-based Systems ({kb})",
                "Microsoft",
                _product(key),
                C.UPDATE,
                S.UNSPECIFIED,
                c.day(14),
                reboot=True,
                os_keys=frozenset({key}),
                prevalence=0.9,
                minutes=11,
                difficulty=1.5,
                errors="cumulative",
            )
        )
    for index, key in enumerate(("win10", "ws2019")):
        kb = c.kb(800 + 7 * index)
        found.append(
            entry(
                kb,
                f"{c.ym} Servicing Stack Update for {WINDOWS_LABELS[key]} for x64-based "
                f"Systems ({kb})",
                "Microsoft",
                _product(key),
                C.CRITICAL,
                S.IMPORTANT,
                c.day(0),
                reboot=False,
                os_keys=frozenset({key}),
                prevalence=0.7,
                minutes=3,
                errors="cumulative",
            )
        )
    for index, key in enumerate(("ws2022", "ws2025")):
        kb = c.kb(900 + 9 * index)
        found.append(
            entry(
                kb,
                f"{c.ym} Out-of-band Update for {WINDOWS_LABELS[key]} for x64-based Systems ({kb})",
                "Microsoft",
                _product(key),
                C.CRITICAL,
                S.CRITICAL,
                c.day(9),
                reboot=True,
                os_keys=frozenset({key}),
                prevalence=0.9,
                minutes=10,
                difficulty=1.2,
                errors="cumulative",
            )
        )
    found.append(
        entry(
            "KB5034441",
            "2024-01 Security Update for Windows 10 Version 22H2 for x64-based Systems (KB5034441)",
            "Microsoft",
            "Windows 10",
            C.SECURITY,
            S.IMPORTANT,
            datetime(2024, 1, 9, 18, tzinfo=UTC),
            reboot=False,
            os_keys=frozenset({"win10"}),
            prevalence=0.35,
            minutes=4,
            difficulty=40,
            errors="winre",
        )
    )
    found.append(
        entry(
            "Windows 11, version 25H2",
            "Feature update to Windows 11, version 25H2",
            "Microsoft",
            "Windows 11",
            C.FEATURE_UPGRADE,
            S.UNSPECIFIED,
            c.day(-42),
            reboot=True,
            os_keys=frozenset({"win10", "win11-23h2"}),
            roles=WORKSTATIONS,
            prevalence=0.85,
            minutes=75,
            difficulty=4,
            errors="feature",
        )
    )
    return found


def _microsoft_products(c: Cycle) -> list[CatalogueEntry]:
    m = c.months
    msrt = f"5.{120 + m}"
    edge = 121 + m * 13 // 12  # Edge follows Chrome's major versions
    found = [
        entry(
            f"KB890830 v{msrt}",
            f"Windows Malicious Software Removal Tool x64 - v{msrt} (KB890830)",
            "Microsoft",
            "Windows",
            C.UPDATE_ROLLUP,
            S.UNSPECIFIED,
            c.day(0),
            reboot=False,
            os_keys=WINDOWS,
            prevalence=0.9,
            minutes=4,
            difficulty=0.5,
            errors="msi",
        ),
        entry(
            f"KB4052623 4.18.{25000 + m * 10}.5",
            "Update for Microsoft Defender Antivirus antimalware platform - KB4052623 "
            f"(Version 4.18.{25000 + m * 10}.5) - Current Channel (Broad)",
            "Microsoft",
            "Microsoft Defender Antivirus",
            C.UPDATE,
            S.UNSPECIFIED,
            c.day(3),
            reboot=False,
            os_keys=WINDOWS,
            prevalence=0.4,
            minutes=2,
            difficulty=0.5,
            errors="defender",
        ),
        entry(
            c.kb(1000),
            f"Security Update for SQL Server 2022 RTM CU{14 + m // 2} ({c.kb(1000)})",
            "Microsoft",
            "SQL Server 2022",
            C.SECURITY,
            S.IMPORTANT,
            c.day(0),
            reboot=False,
            os_keys=WINDOWS_SERVERS,
            roles=frozenset({Role.SERVER}),
            prevalence=0.2,
            minutes=12,
            errors="msi",
        ),
        entry(
            f"KB{5_002_000 + m * 30}",
            f"Security Update for Microsoft Office 2016 (KB{5_002_000 + m * 30}) 64-Bit Edition",
            "Microsoft",
            "Office 2016",
            C.SECURITY,
            S.IMPORTANT,
            c.day(0),
            reboot=False,
            os_keys=WINDOWS_CLIENTS,
            roles=WORKSTATIONS,
            prevalence=0.15,
            minutes=5,
            errors="msi",
        ),
        entry(
            f"M365Apps {2500 + m}.{19000 + m * 40}.20{100 + m}",
            f"Microsoft 365 Apps for enterprise, Current Channel Version {2500 + m} "
            f"(Build {19000 + m * 40}.20{100 + m})",
            "Microsoft",
            "Microsoft 365 Apps",
            C.SECURITY,
            S.IMPORTANT,
            c.day(0),
            reboot=False,
            os_keys=WINDOWS_CLIENTS,
            roles=WORKSTATIONS,
            prevalence=0.55,
            minutes=6,
            errors="msi",
        ),
        entry(
            f"Microsoft Edge {edge}.0.{2900 + m * 50}.{60 + m}",
            f"Microsoft Edge-Stable Channel Version {edge}.0.{2900 + m * 50}.{60 + m} "
            "Update for x64 based Editions",
            "Microsoft",
            "Microsoft Edge",
            C.UPDATE,
            S.UNSPECIFIED,
            c.day(2),
            reboot=False,
            os_keys=WINDOWS,
            prevalence=0.5,
            minutes=3,
            difficulty=0.5,
            errors="msi",
        ),
    ]
    return found + _definitions(c)


def _definitions(c: Cycle) -> list[CatalogueEntry]:
    base = 420 + c.months
    found = []
    for week, offset in enumerate((-1, 6, 13, 20, 27)):
        version = f"1.{base}.{100 + week * 137 + c.months}.0"
        found.append(
            entry(
                f"KB2267602 {version}",
                "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 "
                f"(Version {version}) - Current Channel (Broad)",
                "Microsoft",
                "Microsoft Defender Antivirus",
                C.DEFINITION,
                S.UNSPECIFIED,
                c.day(offset, hour=6),
                reboot=False,
                os_keys=WINDOWS,
                prevalence=0.95,
                minutes=1,
                difficulty=0.2,
                errors="defender",
                group="defender-definitions",
            )
        )
    return found


def _drivers(c: Cycle) -> list[CatalogueEntry]:
    m = c.months
    rows = (
        ("NVIDIA", "Display", f"32.0.15.{6000 + m * 11}", False, 0.08, WORKSTATIONS),
        ("Intel", "Display", f"32.0.101.{6000 + m * 7}", False, 0.2, WORKSTATIONS),
        ("Realtek", "Extension", f"10.0.{22000 + m * 3}.{m + 1}", False, 0.15, WORKSTATIONS),
        ("Dell, Inc.", "Firmware", f"1.{20 + m // 4}.0", True, 0.1, WORKSTATIONS),
        ("Broadcom", "Net", f"229.0.{140 + m}.0", True, 0.1, frozenset({Role.SERVER})),
    )
    return [
        entry(
            f"{vendor} - {kind} - {version}",
            f"{vendor} - {kind} - {version}",
            vendor,
            f"{kind} drivers",
            C.DRIVER,
            S.UNSPECIFIED,
            c.day(-20 + 5 * index),
            reboot=reboot,
            os_keys=WINDOWS,
            roles=roles,
            prevalence=prevalence,
            minutes=3,
            difficulty=2,
            errors="driver",
        )
        for index, (vendor, kind, version, reboot, prevalence, roles) in enumerate(rows)
    ]
