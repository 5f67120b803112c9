"""Who a writing command acts as: the operator setting, never a shared login.

Commands that only read need no name. A command that writes to the remediation log (or
records a decision under a name) calls ``acting_operator()`` before it writes: when the name
would be a shared or administrative login (``root`` by default when logged in as root, or
given as ``--operator root``: root is not a person) it exits 2 with one line saying how to
give a name.
"""

from __future__ import annotations

from patchdesk.cli.context import BadInput, get_context
from patchdesk.identity import HOW_TO_NAME, name_problem
from patchdesk.text import printable


def acting_operator() -> str:
    """The technician this command writes as; ``BadInput`` (exit 2) when there is none."""
    settings = get_context().settings
    problem = name_problem(settings.operator, settings.shared_logins)
    if problem is not None:
        raise BadInput(f"patchdesk: who is acting? {printable(problem)}: {HOW_TO_NAME}")
    return settings.operator.strip()
