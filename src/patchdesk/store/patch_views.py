"""Patch ids and the facts of patches the reconcile step needs (vendor id, reboot hint)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select

from patchdesk.store import direct
from patchdesk.store.db import Session
from patchdesk.store.models import Patch

_PATCH_IDS = select(Patch.vendor_id, Patch.id).where(
    Patch.vendor_id.in_(bindparam("vendor_ids", expanding=True))
)
_VENDOR_IDS = select(Patch.id, Patch.vendor_id).where(
    Patch.id.in_(bindparam("ids", expanding=True))
)
_PATCHES = select(Patch.id, Patch.vendor_id, Patch.reboot_required).where(
    Patch.id.in_(bindparam("ids", expanding=True))
)


def ids_by_vendor_id(session: Session, vendor_ids: Sequence[str]) -> dict[str, int]:
    """Vendor id -> patch id, of those stored."""
    return dict(direct.rows(session.connection(), _PATCH_IDS, {"vendor_ids": vendor_ids}))


def vendor_ids(session: Session, patch_ids: Sequence[int]) -> dict[int, str]:
    """Patch id -> vendor id."""
    return dict(direct.rows(session.connection(), _VENDOR_IDS, {"ids": patch_ids}))


def install_facts(session: Session, patch_ids: Sequence[int]) -> dict[int, tuple[str, bool]]:
    """Patch id -> (vendor id, whether it needs a reboot)."""
    return {
        patch_id: (vendor_id, reboot_required)
        for patch_id, vendor_id, reboot_required in direct.rows(
            session.connection(), _PATCHES, {"ids": patch_ids}
        )
    }


def vendor_id_of(session: Session, patch_id: int) -> str:
    """The patch's vendor id (the session's object, read if it holds none)."""
    return session.get_one(Patch, patch_id).vendor_id
