"""What one reconcile step did, for logs, tests and ``patchdesk simulate``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class StepCounts:
    dispatching: bool = True  # False: attached (another engine holds the lease)
    connector_reachable: bool = True
    deployments_opened: int = 0
    deployments_closed: int = 0
    targets_created: int = 0
    dispatched: int = 0
    reboots_requested: int = 0
    verified: int = 0
    retries: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # by failure class
    exceptions_opened: int = 0
    exceptions_updated: int = 0
    exceptions_resolved: int = 0  # by the engine (an offline device back: engine.comeback)
    exceptions_reclassified: int = 0
    commands_run: int = 0
    # Where things stand after the step (not summed by merge): deployments open (their
    # window started, targets not all settled; None when the step did not get that far) and
    # verified targets watched for regressions.
    open_deployments: int | None = None
    watching: int = 0

    def merge(self, other: StepCounts) -> None:
        for name in (
            "deployments_opened",
            "deployments_closed",
            "targets_created",
            "dispatched",
            "reboots_requested",
            "verified",
            "retries",
            "exceptions_opened",
            "exceptions_updated",
            "exceptions_resolved",
            "exceptions_reclassified",
            "commands_run",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.update(other.failures)
        self.dispatching = self.dispatching and other.dispatching
        self.connector_reachable = self.connector_reachable and other.connector_reachable
