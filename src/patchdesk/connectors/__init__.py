"""Connectors: how the engine speaks to a fleet (the simulator, or an RMM)."""

from patchdesk.connectors.base import (
    Connector,
    ConnectorUnavailable,
    DeviceStatus,
    JobState,
    JobStatus,
    MissingPatch,
    PatchResult,
    RebootOutcome,
    RebootResult,
)

__all__ = [
    "Connector",
    "ConnectorUnavailable",
    "DeviceStatus",
    "JobState",
    "JobStatus",
    "MissingPatch",
    "PatchResult",
    "RebootOutcome",
    "RebootResult",
]
