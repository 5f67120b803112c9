"""The engine's tunables and their defaults (the README's Configuration lists them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from patchdesk.domain import RebootPolicy


@dataclass(frozen=True)
class EngineConfig:
    # Install failures: automatic retries, only if this much of the window remains.
    install_retries: int = 1
    retry_min_remaining: timedelta = timedelta(minutes=30)
    # A reboot command must show a new boot time within this long, or it is a reboot failure.
    reboot_timeout: timedelta = timedelta(minutes=30)
    # Health checks newly failing within this long after verification are a regression.
    observation_period: timedelta = timedelta(hours=24)
    # How often a verified device's health checks are read during the observation period:
    # at its verification, then at every multiple of this (from 2000-01-01 UTC), the same
    # instants for every device (``attention.next_read``).
    health_interval: timedelta = timedelta(hours=1)
    # Servers of one client dispatched at a time (so a client never loses all its servers).
    servers_per_client: int = 1
    # Emergency deployments (an emergency approval: one patch, chosen devices, no window):
    # how long they stay open, and the settings a window would otherwise give them.
    emergency_duration: timedelta = timedelta(hours=4)
    emergency_reboot_policy: RebootPolicy = RebootPolicy.IF_REQUIRED
    emergency_max_concurrent: int = 25
    emergency_max_deferrals: int = 1
    emergency_deferral: timedelta = timedelta(minutes=30)
    emergency_checkin_timeout: timedelta = timedelta(minutes=60)
    # Who the engine is in the remediation log.
    actor: str = "engine"
