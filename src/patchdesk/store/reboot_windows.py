"""A device's reboot windows (``rules.reboot_times``): the active maintenance windows of its
client that apply to it and allow a reboot (reboot policy not ``never``), with its client's
time zone. Read when a technician schedules a reboot and when the engine carries it out."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from patchdesk.domain import RebootPolicy
from patchdesk.rules.narrowing import applies
from patchdesk.rules.reboot_times import RebootWindow
from patchdesk.store.device_views import client_zone
from patchdesk.store.models import Client, Device, MaintenanceWindow, Site
from patchdesk.store.window_views import spec_of


@dataclass(frozen=True)
class DeviceRebootWindows:
    hostname: str
    zone: ZoneInfo  # the client's
    windows: tuple[RebootWindow, ...]


def device_reboot_windows(session: Session, device_id: int) -> DeviceRebootWindows | None:
    """The device's reboot windows, or None when there is no such device."""
    found = session.execute(
        select(Device, Client.timezone, Site.name)
        .join(Client, Client.id == Device.client_id)
        .outerjoin(Site, Site.id == Device.site_id)
        .where(Device.id == device_id)
    ).first()
    if found is None:
        return None
    device, timezone, site = found
    zone = client_zone(timezone)
    windows = session.scalars(
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.client_id == device.client_id,
            MaintenanceWindow.active,
            MaintenanceWindow.reboot_policy != RebootPolicy.NEVER,
        )
        .options(selectinload(MaintenanceWindow.blackouts))
        .order_by(MaintenanceWindow.name)
    ).all()
    return DeviceRebootWindows(
        hostname=device.hostname,
        zone=zone,
        windows=tuple(
            RebootWindow(window.name, spec_of(window), zone, window.checkin_timeout_minutes)
            for window in windows
            if applies(window, device.role, device.tags, site)
        ),
    )
