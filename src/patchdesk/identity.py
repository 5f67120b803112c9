"""Who is at the keyboard: the rules for an operator name (pure; no I/O).

Every action a technician takes is written to the remediation log under their name. A shared
or administrative login (``root``, ``admin``, a kiosk account ...) names nobody, so it is
never taken as that name: the UI asks for the technician's name and the CLI refuses to write
until one is given (``--operator``, ``PATCHDESK_OPERATOR``, or ``operator`` in the config
file). ``shared_logins`` in the settings lists such logins; the comparison ignores case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_NAME = 100  # the log's operator column holds 100 characters

# Logins that name no person: superusers, cloud images' default users, generic accounts.
DEFAULT_SHARED_LOGINS: tuple[str, ...] = (
    "root",
    "toor",
    "admin",
    "administrator",
    "sysadmin",
    "operator",
    "user",
    "guest",
    "support",
    "helpdesk",
    "noc",
    "shared",
    "ubuntu",
    "debian",
    "centos",
    "ec2-user",
    "azureuser",
    "vagrant",
    "pi",
    "nobody",
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

HOW_TO_NAME = (
    'give your name with --operator NAME, PATCHDESK_OPERATOR=NAME or operator = "NAME" '
    "in the config file"
)


def normalise_logins(logins: Iterable[str]) -> tuple[str, ...]:
    """The logins as compared: trimmed, case-folded, blanks dropped, each once, in order."""
    return tuple(dict.fromkeys(login.strip().casefold() for login in logins if login.strip()))


def is_shared_login(name: str, shared_logins: Iterable[str]) -> bool:
    """``name`` is one of the shared or administrative logins (case ignored)."""
    return name.strip().casefold() in normalise_logins(shared_logins)


def name_problem(name: str, shared_logins: Iterable[str]) -> str | None:
    """Why ``name`` cannot stand for a technician in the log, or None when it can."""
    cleaned = name.strip()
    if not cleaned:
        return "the operator name is blank"
    if _CONTROL.search(cleaned):
        return "the operator name holds control characters"
    if len(cleaned) > MAX_NAME:
        return f"the operator name is longer than {MAX_NAME} characters"
    if is_shared_login(cleaned, shared_logins):
        return f"{cleaned!r} is a shared login, not a person"
    return None


__all__ = [
    "DEFAULT_SHARED_LOGINS",
    "HOW_TO_NAME",
    "MAX_NAME",
    "is_shared_login",
    "name_problem",
    "normalise_logins",
]
