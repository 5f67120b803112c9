"""Configuration: ``PATCHDESK_*`` environment variables over a TOML config file.

The config file is ``$PATCHDESK_CONFIG`` or ``config.toml`` in the user config directory.
Environment variables win over the file; nested fields use ``__`` (``PATCHDESK_CONNECTOR__KIND``).
"""

from __future__ import annotations

import getpass
import os
import unicodedata
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from patchdesk.identity import DEFAULT_SHARED_LOGINS, normalise_logins
from patchdesk.untrusted_files import MAX_TOML_BYTES, FileRefused, parse_toml, read_text

APP_NAME = "patchdesk"


# Set by ``patchdesk --config PATH`` for the duration of one settings load.
_config_override: ContextVar[Path | None] = ContextVar("patchdesk_config", default=None)


def default_config_path() -> Path:
    override = _config_override.get()
    if override is not None:
        return override
    env = os.environ.get("PATCHDESK_CONFIG")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME)


def default_audit_key_file() -> Path:
    """The remediation log's key file: ``audit.key`` in the user state directory."""
    return platformdirs.user_state_path(APP_NAME) / "audit.key"


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'patchdesk.db'}"


def default_operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): fall back to a fixed word
        return "operator"


class SimulatorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 1


class TacticalSettings(BaseModel):
    """Tactical RMM over its REST API. The API key never comes from the config file."""

    model_config = ConfigDict(extra="forbid")

    url: str = ""
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    timeout_seconds: float = 15.0


class ConnectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["simulator", "tactical"] = "simulator"
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    tactical: TacticalSettings = Field(default_factory=TacticalSettings)


class EngineSettings(BaseModel):
    """The engine's tunables (``[engine]`` in the config file)."""

    model_config = ConfigDict(extra="forbid")

    interval_seconds: float = Field(default=15.0, gt=0, le=3600)
    install_retries: int = Field(default=1, ge=0, le=5)
    retry_min_remaining_minutes: int = Field(default=30, ge=0, le=1440)
    reboot_timeout_minutes: int = Field(default=30, gt=0, le=1440)
    observation_hours: float = Field(default=24.0, ge=0, le=24 * 14)
    servers_per_client: int = Field(default=1, ge=1, le=1000)
    # Emergency deployments (no window): how long they stay open, and their settings.
    emergency_hours: float = Field(default=4.0, gt=0, le=72)
    emergency_reboot: Literal["never", "if_required", "always"] = "if_required"
    emergency_max_concurrent: int = Field(default=25, ge=1, le=10_000)
    emergency_checkin_timeout_minutes: int = Field(default=60, gt=0, le=1440)


# Characters a one-line setting printed in a document may not hold (controls, format
# characters such as bidirectional overrides, line and paragraph separators).
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class ReportSettings(BaseModel):
    """Who the client's post-patch report comes from (``[report]`` in the config file):
    the MSP's name, and optionally a contact line and a text logo, printed at the report's
    top. One line each; control characters are refused."""

    model_config = ConfigDict(extra="forbid")

    msp_name: str = Field(default="", max_length=200)
    contact: str = Field(default="", max_length=300)
    logo_text: str = Field(default="", max_length=60)

    @field_validator("msp_name", "contact", "logo_text")
    @classmethod
    def _one_printable_line(cls, value: str) -> str:
        if any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in value):
            raise ValueError("one line of text, no control characters")
        return value.strip()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PATCHDESK_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = Field(default_factory=default_database_url)
    operator: str = Field(default_factory=default_operator)
    # Logins that name no person (root, admin ...): never taken as the operator's name; the
    # UI asks for the name and the CLI refuses to write (patchdesk.identity).
    shared_logins: list[str] = Field(default_factory=lambda: list(DEFAULT_SHARED_LOGINS))
    connector: ConnectorSettings = Field(default_factory=ConnectorSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    theme: str = "noc-dark"
    # Key remapping for the UI: binding id (as `?` lists them, e.g. "queue.acknowledge") ->
    # keys, comma-separated ("a,ctrl+a").
    keys: dict[str, str] = Field(default_factory=dict)
    # The operator's IANA zone for "local" times in the UI; empty: the machine's zone.
    timezone: str | None = None
    # Where the Reports screen writes exported reports; empty: the current directory.
    reports_dir: Path | None = None
    # How often a device's agent is expected to check in (no connector declares it), and
    # after how long without a check-in an "online" device is shown as stale (empty: twice
    # the interval). patchdesk.rules.presence.
    checkin_interval_minutes: int = Field(default=15, gt=0, le=7 * 24 * 60)
    stale_after_minutes: int | None = Field(default=None, gt=0, le=30 * 24 * 60)

    def stale_after(self) -> timedelta:
        """The stale threshold: ``stale_after_minutes``, or twice the check-in interval."""
        minutes = self.stale_after_minutes or 2 * self.checkin_interval_minutes
        return timedelta(minutes=minutes)

    # Who the client's report comes from ([report] in the config file).
    report: ReportSettings = Field(default_factory=ReportSettings)
    # The remediation log's key (patchdesk.store.log_key): a 0600 file, created when a log
    # is first keyed; every host that writes one database needs the same file.
    audit_key_file: Path = Field(default_factory=default_audit_key_file)

    @field_validator("operator")
    @classmethod
    def _operator_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("operator name must not be blank")
        return value

    @field_validator("shared_logins")
    @classmethod
    def _logins(cls, value: list[str]) -> list[str]:
        return list(normalise_logins(value))

    @field_validator("keys")
    @classmethod
    def _keys_named(cls, value: dict[str, str]) -> dict[str, str]:
        for binding_id, keys in value.items():
            if not keys.strip() or any(not part.strip() for part in keys.split(",")):
                raise ValueError(f'keys.{binding_id}: give one or more keys, e.g. "a,ctrl+a"')
        return {k: ",".join(part.strip() for part in v.split(",")) for k, v in value.items()}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value.strip()

    @field_validator("reports_dir", mode="before")
    @classmethod
    def _expand_reports_dir(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            return Path(value).expanduser() if value else None
        return value.expanduser() if isinstance(value, Path) else value

    @field_validator("audit_key_file", mode="before")
    @classmethod
    def _expand_audit_key_file(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("name a file (or leave the setting out for the default)")
            return Path(value.strip()).expanduser()
        return value.expanduser() if isinstance(value, Path) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = InitSettingsSource(settings_cls, read_config_file(default_config_path()))
        return (init_settings, env_settings, toml)


class ConfigFileError(ValueError):
    """The config file cannot be read or is not TOML; ``str()`` is ``FILE[:LINE]: message``."""


def read_config_file(path: Path) -> dict[str, Any]:
    """The config file's table; ``{}`` when there is no file at ``path`` (the default file may
    be absent; a named one was checked by ``check_config_file``). Read as untrusted (see
    ``patchdesk.untrusted_files``): a directory, a FIFO, a file over 1 MiB, binary or invalid
    TOML is a ``ConfigFileError``."""
    path = path.expanduser()
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        return parse_toml(read_text(path, max_bytes=MAX_TOML_BYTES, kind="a config file"))
    except FileRefused as refused:
        label = "(toml syntax): " if refused.part in ("syntax", "nesting") else ""
        message = f"{refused.where(str(path))}: {label}{refused.message}"
        raise ConfigFileError(message) from refused


class MissingConfigFile(ValueError):
    """A config file named by ``--config`` or ``$PATCHDESK_CONFIG`` does not exist."""


def check_config_file(config_path: Path | None) -> None:
    """A config file that is named must exist (the default one may be absent)."""
    env = os.environ.get("PATCHDESK_CONFIG")
    named, where = (config_path, "--config") if config_path else (env, "$PATCHDESK_CONFIG")
    if named and not Path(named).expanduser().exists():
        raise MissingConfigFile(f"{where}: no config file at {named}")


def load_settings(config_path: Path | None = None, **overrides: object) -> Settings:
    """Read the environment and the config file; ``overrides`` (from CLI flags) win.

    Raises MissingConfigFile when ``config_path`` or ``$PATCHDESK_CONFIG`` names a file that
    does not exist, ConfigFileError when the file cannot be read or is not TOML,
    pydantic.ValidationError when the environment or the file holds a bad value.
    """
    check_config_file(config_path)
    clean = {key: value for key, value in overrides.items() if value is not None}
    token = _config_override.set(config_path)
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    finally:
        _config_override.reset(token)
