"""Third-party applications, macOS and Linux patches in the simulator catalogue."""

from __future__ import annotations

from patchdesk.connectors.sim.entry import (
    ANY_ROLE,
    MACOS,
    WINDOWS,
    WINDOWS_CLIENTS,
    WORKSTATIONS,
    C,
    CatalogueEntry,
    Cycle,
    S,
    entry,
)


def other_patches(c: Cycle) -> list[CatalogueEntry]:
    return [*_third_party(c), *_macos(c), *_linux(c)]


def _third_party(c: Cycle) -> list[CatalogueEntry]:
    m = c.months
    chrome = 121 + m * 13 // 12
    firefox = 122 + m * 13 // 12
    rows = (
        # vendor, product, vendor id / title, severity, day, prevalence, roles, keys, group
        ("Google", "Google Chrome", f"Google Chrome {chrome}.0.{6100 + chrome * 10}.{70} (64-bit)",
         S.IMPORTANT, -6, 0.7, ANY_ROLE, WINDOWS, "chrome"),
        ("Google", "Google Chrome", f"Google Chrome {chrome}.0.{6100 + chrome * 10}.{108} (64-bit)",
         S.CRITICAL, 8, 0.7, ANY_ROLE, WINDOWS, "chrome"),
        ("Google", "Google Chrome", f"Google Chrome {chrome}.0.{6100 + chrome * 10}.{108} (macOS)",
         S.CRITICAL, 8, 0.7, ANY_ROLE, MACOS, ""),
        ("Mozilla", "Mozilla Firefox", f"Mozilla Firefox {firefox}.0.1 (x64 en-US)",
         S.IMPORTANT, -7, 0.2, ANY_ROLE, WINDOWS, "firefox"),
        ("Mozilla", "Mozilla Firefox", f"Mozilla Firefox {firefox + 1}.0 (x64 en-US)",
         S.CRITICAL, 21, 0.2, ANY_ROLE, WINDOWS, "firefox"),
        ("Adobe", "Adobe Acrobat Reader",
         f"Adobe Acrobat Reader {24 + m // 12}.00{1 + m % 12 // 4}.20{400 + m * 7} (64-bit)",
         S.CRITICAL, 0, 0.5, ANY_ROLE, WINDOWS, ""),
        ("Igor Pavlov", "7-Zip", f"7-Zip {24 + m // 12}.{1 + m % 12 // 6:02d} (x64)",
         S.MODERATE, -30, 0.3, ANY_ROLE, WINDOWS, ""),
        ("Zoom Video Communications", "Zoom Workplace",
         f"Zoom Workplace 6.{m % 7}.{m % 11} ({60000 + m * 37}) (64-bit)",
         S.IMPORTANT, 3, 0.4, WORKSTATIONS, WINDOWS_CLIENTS, ""),
        ("Zoom Video Communications", "Zoom Workplace",
         f"Zoom Workplace 6.{m % 7}.{m % 11} ({60000 + m * 37}) (macOS)",
         S.IMPORTANT, 3, 0.5, WORKSTATIONS, MACOS, ""),
        ("Notepad++ Team", "Notepad++", f"Notepad++ 8.{7 + m // 8}.{m % 8} (64-bit)",
         S.MODERATE, -12, 0.15, ANY_ROLE, WINDOWS, ""),
        ("Microsoft", "Microsoft Teams", f"Microsoft Teams {25000 + m * 30}.{3000 + m}.0",
         S.MODERATE, 1, 0.45, WORKSTATIONS, WINDOWS_CLIENTS, ""),
    )  # fmt: skip
    return [
        entry(
            name,
            name,
            vendor,
            product,
            C.THIRD_PARTY,
            severity,
            c.day(day, hour=15),
            reboot=False,
            os_keys=keys,
            roles=roles,
            prevalence=prevalence,
            minutes=3,
            difficulty=0.7,
            errors="thirdparty",
            group=group,
        )
        for vendor, product, name, severity, day, prevalence, roles, keys, group in rows
    ]


def _macos(c: Cycle) -> list[CatalogueEntry]:
    m = c.months
    rows = (
        # vendor id / title, product, classification, severity, day, reboot, keys, prevalence
        (f"macOS Sequoia 15.{m % 8}.{1 + m % 3}", "macOS Sequoia", C.SECURITY, S.CRITICAL,
         -2, True, frozenset({"mac15"}), 0.85),
        (f"macOS Sonoma 14.{m % 8}.{1 + m % 3}", "macOS Sonoma", C.SECURITY, S.IMPORTANT,
         -2, True, frozenset({"mac14"}), 0.85),
        (f"Safari {18 + m // 12}.{m % 6}", "Safari", C.SECURITY, S.IMPORTANT,
         -2, False, frozenset({"mac14"}), 0.7),
        (f"Command Line Tools for Xcode {16 + m // 12}.{m % 4}", "Xcode", C.UPDATE, S.LOW,
         5, False, MACOS, 0.2),
        ("macOS Tahoe 26", "macOS Tahoe", C.FEATURE_UPGRADE, S.UNSPECIFIED,
         -60, True, MACOS, 0.8),
    )  # fmt: skip
    found = [
        entry(
            name,
            name,
            "Apple",
            product,
            classification,
            severity,
            c.day(day),
            reboot=reboot,
            os_keys=keys,
            prevalence=prevalence,
            minutes=60 if classification is C.FEATURE_UPGRADE else 20 if reboot else 4,
            difficulty=3 if classification is C.FEATURE_UPGRADE else 1,
            errors="macos",
        )
        for name, product, classification, severity, day, reboot, keys, prevalence in rows
    ]
    for index, day in enumerate((-3, 11, 25)):
        version = f"XProtectPlistConfigData {5300 + m * 4 + index}"
        found.append(
            entry(
                version,
                version,
                "Apple",
                "XProtect",
                C.DEFINITION,
                S.UNSPECIFIED,
                c.day(day, hour=20),
                reboot=False,
                os_keys=MACOS,
                prevalence=0.9,
                minutes=1,
                difficulty=0.2,
                errors="macos",
                group="xprotect",
            )
        )
    return found


def _linux(c: Cycle) -> list[CatalogueEntry]:
    m = c.months
    usn = 7100 + m * 30
    rhsa = 1000 + m * 310
    k24, k22 = 50 + m, 130 + m
    rows = (
        # vendor id, title, product, classification, severity, day, reboot, os key
        (f"linux-image-6.8.0-{k24}-generic 6.8.0-{k24}.{k24 + 1}",
         f"USN-{usn}-1: Linux kernel vulnerabilities (6.8.0-{k24}.{k24 + 1})",
         "Ubuntu 24.04 LTS", C.SECURITY, S.IMPORTANT, 1, True, "ubuntu2404"),
        (f"libssl3t64 3.0.13-0ubuntu3.{5 + m // 6}",
         f"USN-{usn + 4}-1: OpenSSL vulnerabilities (libssl3t64 3.0.13-0ubuntu3.{5 + m // 6})",
         "Ubuntu 24.04 LTS", C.SECURITY, S.CRITICAL, 3, False, "ubuntu2404"),
        (f"systemd 255.4-1ubuntu8.{4 + m // 5}",
         f"systemd 255.4-1ubuntu8.{4 + m // 5} (bug-fix update)",
         "Ubuntu 24.04 LTS", C.UPDATE, S.MODERATE, 6, False, "ubuntu2404"),
        (f"linux-image-5.15.0-{k22}-generic 5.15.0-{k22}.{k22 + 10}",
         f"USN-{usn + 1}-1: Linux kernel vulnerabilities (5.15.0-{k22}.{k22 + 10})",
         "Ubuntu 22.04 LTS", C.SECURITY, S.IMPORTANT, 1, True, "ubuntu2204"),
        (f"openssh-server 1:8.9p1-3ubuntu0.{10 + m // 4}",
         f"USN-{usn + 7}-1: OpenSSH vulnerability (1:8.9p1-3ubuntu0.{10 + m // 4})",
         "Ubuntu 22.04 LTS", C.SECURITY, S.IMPORTANT, 4, False, "ubuntu2204"),
        (f"kernel-5.14.0-{500 + m * 4}.el9_6",
         f"RHSA-{c.tuesday.year}:{rhsa} Important: kernel security update",
         "Red Hat Enterprise Linux 9", C.SECURITY, S.IMPORTANT, 2, True, "rhel9"),
        (f"openssl-3.2.2-{6 + m // 6}.el9_6",
         f"RHSA-{c.tuesday.year}:{rhsa + 41} Moderate: openssl security update",
         "Red Hat Enterprise Linux 9", C.SECURITY, S.MODERATE, 5, False, "rhel9"),
        (f"microcode_ctl-20{250812 + m}-1.el9",
         f"RHEA-{c.tuesday.year}:{rhsa + 77} microcode_ctl bug fix and enhancement update",
         "Red Hat Enterprise Linux 9", C.DRIVER, S.UNSPECIFIED, 9, True, "rhel9"),
    )  # fmt: skip
    found = [
        entry(
            vendor_id,
            title,
            "Red Hat" if key == "rhel9" else "Canonical",
            product,
            classification,
            severity,
            c.day(day, hour=14),
            reboot=reboot,
            os_keys=frozenset({key}),
            prevalence=0.8,
            minutes=6 if reboot else 2,
            errors="dnf" if key == "rhel9" else "apt",
        )
        for vendor_id, title, product, classification, severity, day, reboot, key in rows
    ]
    year = c.tuesday.year
    for index, (key, version) in enumerate(
        (("ubuntu2404", f"{year}a-0ubuntu0.24.04"), ("ubuntu2204", f"{year}a-0ubuntu0.22.04"))
    ):
        found.append(
            entry(
                f"tzdata {version}",
                f"tzdata {version} (time zone data update)",
                "Canonical",
                "Ubuntu 24.04 LTS" if index == 0 else "Ubuntu 22.04 LTS",
                C.UPDATE,
                S.LOW,
                c.day(-10, hour=14),
                reboot=False,
                os_keys=frozenset({key}),
                prevalence=0.6,
                minutes=1,
                difficulty=0.2,
                errors="apt",
            )
        )
    return found
