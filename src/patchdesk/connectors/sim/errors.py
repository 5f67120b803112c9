"""Install error codes the simulator reports, by kind of patch, with the RMM's messages.

Windows codes are the ones Windows Update and MSI really report; third-party installers
report MSI exit codes, macOS ``softwareupdate`` and Linux package managers their own words.
"""

from __future__ import annotations

from types import MappingProxyType

ErrorCode = tuple[str, str]  # (code, message)

_WU_COMMON: tuple[ErrorCode, ...] = (
    ("0x8024402c", "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED: the update server could not be reached"),
    ("0x80070002", "ERROR_FILE_NOT_FOUND: the system cannot find the file specified"),
    ("0x80070070", "ERROR_DISK_FULL: there is not enough space on the disk"),
    ("0x800705b4", "ERROR_TIMEOUT: the operation returned because the timeout period expired"),
)

ERRORS: MappingProxyType[str, tuple[ErrorCode, ...]] = MappingProxyType(
    {
        "cumulative": (
            ("0x800f0922", "CBS_E_INSTALLERS_FAILED: processing of advanced installers failed"),
            ("0x80073712", "ERROR_SXS_COMPONENT_STORE_CORRUPT: the component store is corrupt"),
            ("0x800f081f", "CBS_E_SOURCE_MISSING: the source files could not be found"),
            *_WU_COMMON,
        ),
        "msi": (
            ("0x80070643", "ERROR_INSTALL_FAILURE: fatal error during installation"),
            ("0x80070652", "ERROR_INSTALL_ALREADY_RUNNING: another installation is in progress"),
            *_WU_COMMON,
        ),
        "defender": (
            ("0x80070643", "ERROR_INSTALL_FAILURE: fatal error during installation"),
            ("0x80240022", "WU_E_ALL_UPDATES_FAILED: operation failed for all the updates"),
            (
                "0x8024402c",
                "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED: the update server could not be reached",
            ),
        ),
        "winre": (
            ("0x80070643", "ERROR_INSTALL_FAILURE: the recovery partition is too small for WinRE"),
        ),
        "feature": (
            ("0xC1900101", "0xC1900101-0x30018: a driver caused the upgrade to roll back"),
            (
                "0xC1900208",
                "MOSETUP_E_COMPAT_INSTALLREQ_BLOCK: an incompatible app blocks the upgrade",
            ),
            ("0x80070070", "ERROR_DISK_FULL: there is not enough space on the disk"),
        ),
        "driver": (
            ("0x80070103", "ERROR_NO_MORE_ITEMS: the driver is already installed or not newer"),
            ("0x800f0247", "SPAPI_E_INF_IN_USE_BY_DEVICES: the driver package is in use"),
        ),
        "thirdparty": (
            ("MSI 1603", "Fatal error during installation (msiexec exit code 1603)"),
            ("MSI 1618", "Another installation is already in progress (msiexec exit code 1618)"),
            ("EXIT 2", "Installer exited with code 2: the application is running"),
        ),
        "macos": (
            ("SU 102", "softwareupdate: the update could not be verified"),
            ("SU 1", "softwareupdate: not enough free disk space to install"),
        ),
        "apt": (
            ("APT 100", "E: dpkg was interrupted, you must manually run 'dpkg --configure -a'"),
            ("APT 100", "E: Could not get lock /var/lib/dpkg/lock-frontend"),
        ),
        "dnf": (
            ("DNF 1", "Error: Transaction test error: file conflicts between packages"),
            ("DNF 1", "Error: Failed to download metadata for repo 'rhel-9-baseos-rpms'"),
        ),
    }
)

OFFLINE = ("AGENT_OFFLINE", "The agent is not connected; nothing was installed")
NOT_INSTALLED = ("0x80070490", "ERROR_NOT_FOUND: the update is not installed on this computer")
ROLLBACK_FAILED = ("0x800f0825", "CBS_E_CANNOT_UNINSTALL: the package cannot be uninstalled")

_ALL = {code: message for table in ERRORS.values() for code, message in table}


def message_for(code: str) -> str:
    """The message that goes with ``code`` (a scripted code may be any text)."""
    return _ALL.get(code, f"Installation failed with error {code}")
