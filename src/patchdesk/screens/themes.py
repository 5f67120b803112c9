"""patchdesk's themes, the TOML files of the repository's ``themes/``, as Textual ``Theme``s.

The wheel installs ``themes/`` as the package ``patchdesk.themes``; a checkout (an editable
install, or ``src`` on the path) has no such package, and the files are read from the
repository's ``themes/`` in place.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from textual.theme import Theme

DEFAULT_THEME = "noc-dark"
_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "success",
    "warning",
    "error",
)


class ThemeFileError(ValueError):
    """A theme file that is not a valid theme; the message names the file."""


def theme_from_toml(source: str, text: str) -> Theme:
    try:
        raw: dict[str, Any] = tomllib.loads(text)["theme"]
        colour = {key: str(raw[key]) if key in raw else None for key in _FIELDS}
        variables = {str(k): str(v) for k, v in dict(raw.get("variables", {})).items()}
        return Theme(
            name=str(raw["name"]),
            primary=str(raw["primary"]),
            secondary=colour["secondary"],
            accent=colour["accent"],
            foreground=colour["foreground"],
            background=colour["background"],
            surface=colour["surface"],
            panel=colour["panel"],
            success=colour["success"],
            warning=colour["warning"],
            error=colour["error"],
            dark=bool(raw.get("dark", True)),
            variables=variables,
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ThemeFileError(f"{source}: not a theme ({exc})") from exc


# src/patchdesk/screens/themes.py -> the repository's root
CHECKOUT_THEMES = Path(__file__).resolve().parents[3] / "themes"


def themes_folder() -> Traversable:
    """The installed ``patchdesk.themes``, else the checkout's ``themes/``."""
    try:
        return resources.files("patchdesk.themes")
    except ModuleNotFoundError:
        return CHECKOUT_THEMES


def bundled_themes() -> list[Theme]:
    """Every theme shipped with patchdesk, by file name."""
    folder = themes_folder()
    files = sorted(
        (item for item in folder.iterdir() if item.name.endswith(".toml")),
        key=lambda item: item.name,
    )
    return [theme_from_toml(item.name, item.read_text(encoding="utf-8")) for item in files]
