"""The engine's tunables, with the defaults the issues name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class EngineConfig:
    # Install failures: automatic retries, only if this much of the window remains.
    install_retries: int = 1
    retry_min_remaining: timedelta = timedelta(minutes=30)
    # A reboot command must show a new boot time within this long, or it is a reboot failure.
    reboot_timeout: timedelta = timedelta(minutes=30)
    # Health checks newly failing within this long after verification are a regression.
    observation_period: timedelta = timedelta(hours=24)
    # How often a verified device's health checks are read during the observation period.
    health_interval: timedelta = timedelta(hours=1)
    # Servers of one client dispatched at a time (so a client never loses all its servers).
    servers_per_client: int = 1
    # Who the engine is in the remediation log.
    actor: str = "engine"
