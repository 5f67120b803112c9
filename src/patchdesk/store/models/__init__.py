"""SQLAlchemy models for the whole domain (its vocabulary: ``patchdesk.domain``)."""

from patchdesk.store.models.base import Base
from patchdesk.store.models.deployment import CheckIn, Deployment, Target, TargetPatch
from patchdesk.store.models.fleet import Client, Device, DevicePatch, Patch, Site
from patchdesk.store.models.ops import (
    AuditLogKey,
    HandoverNote,
    OperatorRequest,
    PatchException,
    RemediationRecord,
)
from patchdesk.store.models.policy import (
    ApprovalDecision,
    ApprovalRule,
    BlockedPatch,
    ClientScope,
    MaintenanceWindow,
    PatchExclusion,
    Ring,
    WindowBlackout,
)
from patchdesk.store.models.system import EngineLease, EngineState, Event

__all__ = [
    "ApprovalDecision",
    "ApprovalRule",
    "AuditLogKey",
    "Base",
    "BlockedPatch",
    "CheckIn",
    "Client",
    "ClientScope",
    "Deployment",
    "Device",
    "DevicePatch",
    "EngineLease",
    "EngineState",
    "Event",
    "HandoverNote",
    "MaintenanceWindow",
    "OperatorRequest",
    "Patch",
    "PatchException",
    "PatchExclusion",
    "RemediationRecord",
    "Ring",
    "Site",
    "Target",
    "TargetPatch",
    "WindowBlackout",
]
