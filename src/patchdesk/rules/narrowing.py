"""Which devices a maintenance window applies to: its narrowing lists (roles, tags, sites).

A window with no list applies to every device of its client; each list it gives must match
(tags: any one of them), compared case-folded as scope rules are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol

from patchdesk.domain import Role
from patchdesk.rules.scope import fold


class Narrowed(Protocol):
    """Anything that carries a window's narrowing lists (a stored window, a ``Narrowing``)."""

    @property
    def applies_roles(self) -> Sequence[str]: ...
    @property
    def applies_tags(self) -> Sequence[str]: ...
    @property
    def applies_sites(self) -> Sequence[str]: ...


class Narrowing(NamedTuple):
    """A window's narrowing lists, as read when it opens (no stored window object)."""

    applies_roles: list[str]
    applies_tags: list[str]
    applies_sites: list[str]


def applies(window: Narrowed, role: Role, tags: Iterable[str], site: str | None) -> bool:
    """Every narrowing list the window gives must match (tags: any one of them)."""
    return applies_to(window)(role, tags, site)


def applies_to(window: Narrowed) -> Callable[[Role, Iterable[str], str | None], bool]:
    """``applies`` for one window, its lists folded once (it is asked for every device)."""
    roles = window.applies_roles
    tags_wanted = fold(window.applies_tags) if window.applies_tags else None
    sites = fold(window.applies_sites) if window.applies_sites else None

    def check(role: Role, tags: Iterable[str], site: str | None) -> bool:
        if roles and role.value not in roles:
            return False
        if tags_wanted is not None and not tags_wanted & fold(tags):
            return False
        return sites is None or not fold([site or ""]) - sites

    return check


def narrowness(window: Narrowed) -> int:
    """How many of its narrowing lists (roles, tags, sites) a window gives."""
    return sum(bool(lists) for lists in (window.applies_roles, window.applies_tags,
                                          window.applies_sites))  # fmt: skip
