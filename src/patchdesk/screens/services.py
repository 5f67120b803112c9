"""What every screen needs from the application: the store, who is at the keyboard, and
what time it is (simulated in the demo).

The app owns one ``Services`` and exposes it as ``app.services``; a screen reaches it with
``services_of(self.app)``. Screens read and write the store only from workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from patchdesk.identity import DEFAULT_SHARED_LOGINS
from patchdesk.reports.client_model import Branding
from patchdesk.rules.presence import DEFAULT_STALE_AFTER
from patchdesk.store.db import Database


@dataclass(frozen=True)
class Services:
    database: Database
    operator: str
    clock: Callable[[], datetime]  # aware UTC; virtual time in the demo
    local_zone: ZoneInfo  # the operator's zone, for "operator-local" times
    simulated: bool = False  # the clock is a demo's accelerated virtual clock
    readonly: bool = False  # every state-changing action is refused
    reports_dir: Path | None = None  # where the Reports screen exports; None: the cwd
    # Who the client's report comes from ([report] settings).
    branding: Branding = field(default_factory=Branding)
    # Logins that name no person: an ``operator`` among them is asked for when the UI opens.
    shared_logins: tuple[str, ...] = DEFAULT_SHARED_LOGINS
    # An online device not checked in for longer is shown as stale (engine.presence).
    stale_after: timedelta = DEFAULT_STALE_AFTER


class HasServices(Protocol):
    services: Services


def set_operator(app: HasServices, name: str) -> None:
    """From now on the app acts as ``name`` (asked for when the login was a shared one)."""
    app.services = replace(app.services, operator=name)


def services_of(app: object) -> Services:
    services = getattr(app, "services", None)
    if not isinstance(services, Services):
        raise TypeError(f"{type(app).__name__} has no patchdesk Services")
    return services
