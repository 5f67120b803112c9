"""The triage order: which exception a technician looks at first.

Tier (critical servers, other servers, shared workstations, single-user endpoints), then
class (offline, regression, reboot, install, missed: ``domain.CLASS_RANK``, stored in
``class_rank``), then age (oldest first), then id. This ORDER BY is the definition: every
reader of the queue sorts by it (``queue_views``, ``exception_views``, ``board_views``), and
it matches ``ix_exceptions_triage`` (a partial index over open exceptions), so a page of the
queue is an index walk, not a sort, however long the queue grows. The tests hold it to the
order written out in ``tests/triage_order.py``.
"""

from __future__ import annotations

from patchdesk.store.models import PatchException

TRIAGE_ORDER = (
    PatchException.tier,
    PatchException.class_rank,
    PatchException.opened_at,
    PatchException.id,
)
