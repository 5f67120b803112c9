"""Clients, sites, devices, patches and which patches each device is missing."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from patchdesk.domain import (
    Classification,
    Criticality,
    MissingPatchState,
    OsFamily,
    Role,
    Severity,
)
from patchdesk.store.models.base import Base
from patchdesk.store.types import str_enum


class Client(Base):
    """An MSP customer. ``id`` is the short slug used in policy files and on the CLI."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    sla_tier: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    sites: Mapped[list[Site]] = relationship(back_populates="client", cascade="all, delete-orphan")
    devices: Mapped[list[Device]] = relationship(back_populates="client")


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("client_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))

    client: Mapped[Client] = relationship(back_populates="sites")


class Device(Base):
    """A managed endpoint. Hostname and other text are stored exactly as received."""

    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("client_id", "hostname"),
        Index("ix_devices_client_role", "client_id", "role"),
        # One device per connector id (migration 0007); NULL (not linked yet) on any number.
        # With one connector per installation (settings ``connector.kind``) the id is unique
        # on its own; when a second connector lands and devices name theirs in a column, the
        # index becomes (connector, connector_id).
        Index("uq_devices_connector_id", "connector_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    hostname: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    criticality: Mapped[Criticality] = mapped_column(str_enum(Criticality, "criticality"))
    os_family: Mapped[OsFamily] = mapped_column(str_enum(OsFamily, "os_family"))
    os_name: Mapped[str] = mapped_column(String(200), default="")
    os_version: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list[str]] = mapped_column(default=list)
    # What the engine acts on: the technician's override when there is one, else the RMM's.
    maintenance_mode: Mapped[bool] = mapped_column(default=False)
    # What the connector last reported (the engine's sync writes it, never the override).
    rmm_maintenance_mode: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A technician's setting from the device screen (NULL: follow the RMM), who and when.
    maintenance_override: Mapped[bool | None] = mapped_column(default=None)
    maintenance_override_by: Mapped[str | None] = mapped_column(String(100))
    maintenance_override_at: Mapped[datetime | None]
    online: Mapped[bool | None] = mapped_column(default=None)
    last_seen: Mapped[datetime | None]
    last_boot: Mapped[datetime | None]
    connector_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    client: Mapped[Client] = relationship(back_populates="devices")
    site: Mapped[Site | None] = relationship()


class Patch(Base):
    """An update some device is missing. ``vendor_id`` is a KB number or package+version."""

    __tablename__ = "patches"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text)
    vendor: Mapped[str] = mapped_column(String(200), default="")
    product: Mapped[str] = mapped_column(String(200), default="")
    classification: Mapped[Classification] = mapped_column(
        str_enum(Classification, "classification")
    )
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "severity"))
    release_date: Mapped[date]
    reboot_required: Mapped[bool] = mapped_column(default=True)


class DevicePatch(Base):
    """One patch one device needs (or needed): the device-missing-patch status."""

    __tablename__ = "device_patches"
    __table_args__ = (
        UniqueConstraint("device_id", "patch_id"),
        Index("ix_device_patches_patch_state", "patch_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    patch_id: Mapped[int] = mapped_column(ForeignKey("patches.id"))
    state: Mapped[MissingPatchState] = mapped_column(
        str_enum(MissingPatchState, "missing_patch_state")
    )
    detected_at: Mapped[datetime]
    installed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
