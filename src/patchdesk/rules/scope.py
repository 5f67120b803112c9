"""A client's patch scope: which devices and which patches patchdesk may touch (pure).

Semantics (as ``policy export`` documents them to the client):

- a device is in scope when it passes every include list that is given (``include_roles``,
  ``include_tags`` (any one tag), ``include_sites``, ``include_os``; an empty list means
  "all") and its hostname is not in ``exclude_devices``;
- an operating-system patch (every classification but ``third_party``) is in scope when
  ``patch_os`` is true; a ``third_party`` patch when its product is one of ``third_party``.

Names (tags, sites, hostnames, application names) compare ignoring letter case: RMMs and
people spell them differently, and an exclusion must never be missed over a capital letter.
A client with no stored scope has everything in scope (a policy file without
``[client.scope]`` means "everything").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from patchdesk.domain import Classification, OsFamily, Role


def fold(values: Iterable[str]) -> frozenset[str]:
    """Names as compared: case-folded, surrounding blanks ignored."""
    return frozenset(value.strip().casefold() for value in values)


@dataclass(frozen=True)
class Scope:
    """A client's scope, names already folded (build it with ``Scope.of``)."""

    include_roles: frozenset[Role] = frozenset()
    include_tags: frozenset[str] = frozenset()
    include_sites: frozenset[str] = frozenset()
    include_os: frozenset[OsFamily] = frozenset()
    exclude_devices: frozenset[str] = frozenset()
    patch_os: bool = True
    third_party: frozenset[str] = frozenset()
    everything: bool = False

    @classmethod
    def of(
        cls,
        *,
        include_roles: Iterable[str] = (),
        include_tags: Iterable[str] = (),
        include_sites: Iterable[str] = (),
        include_os: Iterable[str] = (),
        exclude_devices: Iterable[str] = (),
        patch_os: bool = True,
        third_party: Iterable[str] = (),
    ) -> Scope:
        return cls(
            include_roles=frozenset(Role(role) for role in include_roles),
            include_tags=fold(include_tags),
            include_sites=fold(include_sites),
            include_os=frozenset(OsFamily(family) for family in include_os),
            exclude_devices=fold(exclude_devices),
            patch_os=patch_os,
            third_party=fold(third_party),
        )

    @classmethod
    def unrestricted(cls) -> Scope:
        """No scope stored: every device, every operating-system and third-party patch."""
        return cls(everything=True)


@dataclass(frozen=True)
class ScopedDevice:
    """What scope looks at on a device."""

    hostname: str
    role: Role
    os_family: OsFamily
    site: str | None
    tags: tuple[str, ...]


def device_in_scope(scope: Scope, device: ScopedDevice) -> bool:
    if scope.everything:
        return True
    if device.hostname.strip().casefold() in scope.exclude_devices:
        return False
    if scope.include_roles and device.role not in scope.include_roles:
        return False
    if scope.include_os and device.os_family not in scope.include_os:
        return False
    if scope.include_sites and (
        device.site is None or device.site.strip().casefold() not in scope.include_sites
    ):
        return False
    return not scope.include_tags or bool(fold(device.tags) & scope.include_tags)


def patch_in_scope(scope: Scope, classification: Classification, product: str) -> bool:
    if scope.everything:
        return True
    if classification is Classification.THIRD_PARTY:
        return product.strip().casefold() in scope.third_party
    return scope.patch_os
