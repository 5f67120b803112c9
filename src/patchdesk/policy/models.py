"""The pydantic models of a client policy file (format: ``examples/policies/README.md``).

Every model forbids unknown keys and is strict about types (a number where a string is
expected is an error, not a conversion); values from the domain vocabulary (roles, OS
families, classifications ...) are given as their string names. Durations are strings such
as "4h" and are held as whole minutes (soak as whole hours); start times are "HH:MM".
Cross-item rules (unique names and ids, ring order) live in ``crosschecks``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from patchdesk.domain import Classification, OsFamily, RebootPolicy, Role, RuleAction, Severity
from patchdesk.policy.durations import (
    CLOCK_HINT,
    DURATION_HINT,
    format_clock,
    format_duration,
    parse_clock,
    parse_duration,
)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLA_TIERS: tuple[str, ...] = ("gold", "silver", "bronze")
MAX_WINDOW_MINUTES = 24 * 60
MAX_CHECKIN_MINUTES = 24 * 60
MAX_SOAK_HOURS = 90 * 24
MAX_RULE_DAYS = 3650


class PolicyModel(BaseModel):
    """Base of every policy model: unknown keys are errors, no silent type conversion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- scalar types ---------------------------------------------------------------------------


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# Text is stored exactly as given; NUL is refused because PostgreSQL cannot store it.
Text = Annotated[str, AfterValidator(_no_nul)]
# Names, tags, sites, hostnames: one non-blank value, with the store's column limits.
Label = Annotated[
    str, StringConstraints(max_length=200), AfterValidator(_not_blank), AfterValidator(_no_nul)
]
Name100 = Annotated[
    str, StringConstraints(max_length=100), AfterValidator(_not_blank), AfterValidator(_no_nul)
]
Name200 = Label


def _slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9-]{1,64}", value):
        raise ValueError(
            f"{value!r} is not a client id: use 1 to 64 lowercase letters, digits and '-'"
        )
    return value


def _time_zone(value: str) -> str:
    try:
        valid = len(value) <= 64 and ZoneInfo(value) is not None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        valid = False
    if not valid:
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as 'America/New_York'"
        )
    return value


def _weekday(value: str) -> str:
    if value not in WEEKDAYS:
        raise ValueError(f"{value!r} is not a weekday: use one of {', '.join(WEEKDAYS)}")
    return value


def _sla_tier(value: str) -> str:
    if value not in SLA_TIERS:
        raise ValueError(f"{value!r} is not an SLA tier: use one of {', '.join(SLA_TIERS)}")
    return value


def _duration_text(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError(DURATION_HINT)
    return parse_duration(value)


def _clock_text(value: object) -> time:
    if not isinstance(value, str):
        raise ValueError(CLOCK_HINT)
    return parse_clock(value)


def _minutes_up_to(high: int) -> Callable[[int], int]:
    """A check that a duration is more than zero and at most ``high`` minutes."""

    def check(minutes: int) -> int:
        if minutes <= 0:
            raise ValueError("must be longer than 0 minutes")
        if minutes > high:
            raise ValueError(
                f"must be at most {format_duration(high)} (got {format_duration(minutes)})"
            )
        return minutes

    return check


def _whole_hours(minutes: int) -> int:
    hours, rest = divmod(minutes, 60)
    if rest:
        raise ValueError(f"must be whole hours (got {format_duration(minutes)})")
    if hours > MAX_SOAK_HOURS:
        raise ValueError(f"must be at most {MAX_SOAK_HOURS // 24}d")
    return hours


ClientId = Annotated[str, AfterValidator(_slug)]
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
Weekday = Annotated[str, AfterValidator(_weekday)]
SlaTier = Annotated[str, AfterValidator(_sla_tier)]
Clock = Annotated[
    time, BeforeValidator(_clock_text), PlainSerializer(format_clock, return_type=str)
]
WindowMinutes = Annotated[
    int,
    BeforeValidator(_duration_text),
    AfterValidator(_minutes_up_to(MAX_WINDOW_MINUTES)),
    PlainSerializer(format_duration, return_type=str),
]
CheckinMinutes = Annotated[
    int,
    BeforeValidator(_duration_text),
    AfterValidator(_minutes_up_to(MAX_CHECKIN_MINUTES)),
    PlainSerializer(format_duration, return_type=str),
]
SoakHours = Annotated[
    int,
    BeforeValidator(_duration_text),
    AfterValidator(_whole_hours),
    PlainSerializer(lambda hours: f"{hours}h", return_type=str),
]
# Domain values are strings in the file; ``strict=False`` lets "server" become Role.SERVER.
RoleName = Annotated[Role, Field(strict=False)]
OsName = Annotated[OsFamily, Field(strict=False)]
ClassificationName = Annotated[Classification, Field(strict=False)]
SeverityName = Annotated[Severity, Field(strict=False)]
RebootName = Annotated[RebootPolicy, Field(strict=False)]
ActionName = Annotated[RuleAction, Field(strict=False)]


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{str(value)!r} is listed twice")
        seen.add(value)
    return values


# --- scope ----------------------------------------------------------------------------------


class Scope(PolicyModel):
    """Which devices and software are patched. An empty include list means "all"."""

    include_roles: list[RoleName] = Field(default_factory=list)
    include_tags: list[Label] = Field(default_factory=list)
    include_sites: list[Label] = Field(default_factory=list)
    include_os: list[OsName] = Field(default_factory=list)
    exclude_devices: list[Label] = Field(default_factory=list)
    patch_os: bool = True
    third_party: list[Label] = Field(default_factory=list)
    notes: Text = ""


# --- windows --------------------------------------------------------------------------------


class AppliesTo(PolicyModel):
    """Narrows a window to devices with one of these roles, tags or sites (empty: all)."""

    roles: list[RoleName] = Field(default_factory=list)
    tags: list[Label] = Field(default_factory=list)
    sites: list[Label] = Field(default_factory=list)


class Weekly(PolicyModel):
    type: Literal["weekly"]
    days: list[Weekday]

    @field_validator("days")
    @classmethod
    def _some_days(cls, days: list[str]) -> list[str]:
        if not days:
            raise ValueError('list at least one day, e.g. days = ["tue", "thu"]')
        return _unique(days)


class Monthly(PolicyModel):
    type: Literal["monthly"]
    nth: int
    weekday: Weekday

    @field_validator("nth")
    @classmethod
    def _nth(cls, nth: int) -> int:
        if nth not in (1, 2, 3, 4, -1):
            raise ValueError(f"must be 1, 2, 3, 4 or -1 (the last one in the month), got {nth}")
        return nth


class PatchTuesday(PolicyModel):
    """N days after the second Tuesday of the month (0: Patch Tuesday itself)."""

    type: Literal["patch_tuesday"]
    offset_days: int = Field(default=0, ge=0, le=27)


Recurrence = Annotated[Weekly | Monthly | PatchTuesday, Field(discriminator="type")]


class Blackout(PolicyModel):
    """A freeze period in client-local dates, both ends included."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    reason: Text = ""

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if isinstance(start, date) and end < start:
            raise ValueError(f"ends ({end}) before it starts (from = {start})")
        return end


class Window(PolicyModel):
    """A recurring maintenance window in the client's local wall time."""

    name: Name100
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    recurrence: Recurrence
    start: Clock
    duration: WindowMinutes
    reboot: RebootName
    max_deferrals: int = Field(default=0, ge=0, le=99)
    deferral_minutes: int = Field(default=0, ge=0, le=1440, validate_default=True)
    checkin_timeout: CheckinMinutes
    max_concurrent: int = Field(ge=1, le=100_000)
    blackouts: list[Blackout] = Field(default_factory=list)

    @field_validator("deferral_minutes")
    @classmethod
    def _deferrals_need_minutes(cls, minutes: int, info: ValidationInfo) -> int:
        allowed = info.data.get("max_deferrals")
        if isinstance(allowed, int) and allowed > 0 and minutes == 0:
            raise ValueError(
                f"must be more than 0 when max_deferrals is {allowed}: "
                "how many minutes one deferral postpones the install"
            )
        return minutes


# --- approval rules -------------------------------------------------------------------------

MATCH_CRITERIA: tuple[str, ...] = (
    "classifications",
    "severities",
    "vendors",
    "products",
    "title_pattern",
    "patch_ids",
)


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return pattern


class Match(PolicyModel):
    """What a rule matches: every given criterion must hold; a list matches any of its values.

    ``any = true`` (alone) is the explicit catch-all. A rule with no criterion is an error,
    so a forgotten criterion never silently matches everything.
    """

    any: bool = False
    classifications: list[ClassificationName] | None = None
    severities: list[SeverityName] | None = None
    vendors: list[Label] | None = None
    products: list[Label] | None = None
    title_pattern: Annotated[Text, AfterValidator(_not_blank), AfterValidator(_regex)] | None = None
    patch_ids: list[Label] | None = None

    @field_validator("classifications", "severities", "vendors", "products", "patch_ids")
    @classmethod
    def _not_empty(cls, values: list[Any] | None) -> list[Any] | None:
        if values is not None and not values:
            raise ValueError("is empty: list at least one value or leave the key out")
        return values

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = self.criteria()
        if self.any and given:
            raise ValueError(
                f"any = true matches every patch; remove it or the criteria ({', '.join(given)})"
            )
        if not self.any and not given:
            raise ValueError(
                "give at least one of " + ", ".join(MATCH_CRITERIA) + ", or any = true to match "
                "every patch"
            )
        return self

    def criteria(self) -> dict[str, Any]:
        """The given criteria as stored: enum values as strings, absent keys left out."""
        found: dict[str, Any] = {}
        for key in MATCH_CRITERIA:
            value = getattr(self, key)
            if value is not None:
                found[key] = [str(item) for item in value] if isinstance(value, list) else value
        return found

    @model_serializer
    def _as_written(self) -> dict[str, Any]:
        return {"any": True} if self.any else self.criteria()


class ApprovalRule(PolicyModel):
    """One rule; the client's rules apply in order and the first match decides.

    ``days``: for ``auto`` an optional delay after release (default 0); for ``defer`` the
    required number of days (> 0); not allowed for ``manual`` and ``block``.
    """

    name: Name200
    match: Match
    action: ActionName
    days: int | None = Field(default=None, validate_default=True)

    @field_validator("days")
    @classmethod
    def _days_fit_action(cls, days: int | None, info: ValidationInfo) -> int | None:
        action = info.data.get("action")
        if action is None:
            return days  # the action itself is wrong; that error is reported
        if action in (RuleAction.MANUAL, RuleAction.BLOCK):
            if days is not None:
                raise ValueError(f"not allowed when action is {action.value!r}")
            return None
        if days is None:
            if action is RuleAction.DEFER:
                raise ValueError("required when action is 'defer': how many days after release")
            return 0
        low = 1 if action is RuleAction.DEFER else 0
        if not low <= days <= MAX_RULE_DAYS:
            raise ValueError(f"must be between {low} and {MAX_RULE_DAYS}, got {days}")
        return days


# --- rings ----------------------------------------------------------------------------------


class Ring(PolicyModel):
    """A deployment ring. Empty ``tags`` (last ring only) means every device not in a ring."""

    name: Name100
    tags: list[Label] = Field(default_factory=list)
    soak: SoakHours
    min_success_rate: float

    @field_validator("min_success_rate")
    @classmethod
    def _rate(cls, rate: float) -> float:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"must be between 0 and 1 (0.95 means 95%), got {rate}")
        return rate


# --- clients, block list, the file ----------------------------------------------------------


class ClientPolicy(PolicyModel):
    id: ClientId
    name: Name200
    timezone: TimeZoneName
    sla_tier: SlaTier
    scope: Scope = Field(default_factory=Scope)
    windows: list[Window] = Field(default_factory=list)
    approval_rules: list[ApprovalRule] = Field(default_factory=list)
    rings: list[Ring] = Field(default_factory=list)


class BlockEntry(PolicyModel):
    """A known-bad patch, blocked for every client."""

    patch_id: Name200
    reason: Annotated[Text, AfterValidator(_not_blank)]
    blocked_by: Name100
    blocked_at: AwareDatetime


BOTH_CLIENT_FORMS = "use [client] for one client or [[clients]] for several, not both"
NOTHING_IN_FILE = "a policy file holds [client], [[clients]] or [[blocklist]]"


def document_problem(client: object, clients: object, blocklist: object) -> str | None:
    """What is wrong with the top level of a policy file (given or raw values), if anything."""
    if client is not None and clients is not None:
        return BOTH_CLIENT_FORMS
    if client is None and not clients and not blocklist:
        return NOTHING_IN_FILE
    return None


class PolicyDocument(PolicyModel):
    """One policy file: ``[client]`` or ``[[clients]]``, and/or ``[[blocklist]]``."""

    client: ClientPolicy | None = None
    clients: list[ClientPolicy] | None = None
    blocklist: list[BlockEntry] | None = None

    @model_validator(mode="after")
    def _holds_something(self) -> Self:
        problem = document_problem(self.client, self.clients, self.blocklist)
        if problem:
            raise ValueError(problem)
        return self

    def all_clients(self) -> list[tuple[tuple[str | int, ...], ClientPolicy]]:
        """Each client with its location in the file: ("client",) or ("clients", i)."""
        if self.client is not None:
            return [(("client",), self.client)]
        return [(("clients", index), client) for index, client in enumerate(self.clients or [])]
