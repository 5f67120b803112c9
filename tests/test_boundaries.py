"""The UI/engine boundary: the core must import without textual (DESIGN section 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_MODULES = [
    "patchdesk.engine",
    "patchdesk.store",
    "patchdesk.store.db",
    "patchdesk.store.models",
    "patchdesk.store.remediation_log",
    "patchdesk.policy",
    "patchdesk.inventory",
    "patchdesk.missing_patches",
    "patchdesk.rules.approval_rows",
    "patchdesk.store.approvals",
    "patchdesk.store.exception_ops",
    "patchdesk.store.exception_views",
    "patchdesk.store.handover",
    "patchdesk.store.client_views",
    "patchdesk.store.exclusions",
    "patchdesk.store.reboot_windows",
    "patchdesk.rules.reboot_times",
    "patchdesk.settings",
    "patchdesk.untrusted_files",
    "patchdesk.identity",
    "patchdesk.domain",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_textual(module: str) -> None:
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')); "
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} loads {result.stdout.strip()}"


def test_the_check_can_fail() -> None:
    """The probe above does see textual when something imports it."""
    code = "import sys, patchdesk.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "True", result.stderr
