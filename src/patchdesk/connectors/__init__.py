"""Connectors: how the engine speaks to a fleet (the simulator, or an RMM).

``base`` is the contract every fleet meets (the ``Connector`` protocol and the data types it
returns); each connector is a module or a subpackage beside it: ``simulator`` (and its parts
in ``sim``), a deterministic fleet on a virtual clock that the demo, the tests and the
benchmarks run on. A real RMM's connector goes here too, and ``engine.connector`` chooses
one from the settings (docs/architecture.md: a new connector).

May import ``settings``, ``policy``, ``rules``, the small helpers and ``domain``; never the
store (the engine joins the two), the engine or the UI.
"""

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
