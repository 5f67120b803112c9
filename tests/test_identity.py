"""The rules for an operator name (patchdesk.identity) and the ``shared_logins`` setting."""

from __future__ import annotations

import pytest

from patchdesk.identity import DEFAULT_SHARED_LOGINS, is_shared_login, name_problem
from patchdesk.settings import load_settings


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("alice", None),
        ("Alice Meyer", None),
        ("  kim  ", None),
        ("rooter", None),  # a name that starts like a shared login is a name
        ("root", "'root' is a shared login, not a person"),
        ("ROOT", "'ROOT' is a shared login, not a person"),
        (" Administrator ", "'Administrator' is a shared login, not a person"),
        ("ec2-user", "'ec2-user' is a shared login, not a person"),
        ("", "the operator name is blank"),
        ("   ", "the operator name is blank"),
        ("bob\x1b[31m", "the operator name holds control characters"),
        ("bob\nroot", "the operator name holds control characters"),
        ("x" * 101, "the operator name is longer than 100 characters"),
    ],
)
def test_name_problem(name: str, problem: str | None) -> None:
    assert name_problem(name, DEFAULT_SHARED_LOGINS) == problem


def test_the_list_is_compared_without_case_or_spaces() -> None:
    assert is_shared_login("NocDesk", [" nocdesk "])
    assert not is_shared_login("root", ["nocdesk"])
    assert not is_shared_login("root", [])


def test_shared_logins_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().shared_logins == list(DEFAULT_SHARED_LOGINS)
    monkeypatch.setenv("PATCHDESK_SHARED_LOGINS", '[" NOCdesk ", "", "kiosk", "kiosk"]')
    assert load_settings().shared_logins == ["nocdesk", "kiosk"]
