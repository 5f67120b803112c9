"""What the terminal UI remembers between runs (the theme chosen with ``:theme``), in a
small JSON file in the user's state directory. Losing it is harmless: an unreadable file
is ignored (and logged) and rewritten on the next choice."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import platformdirs

from patchdesk.settings import APP_NAME
from patchdesk.untrusted_files import FileRefused, read_text

log = logging.getLogger(__name__)


def default_ui_state_path() -> Path:
    return platformdirs.user_state_path(APP_NAME) / "ui.json"


MAX_UI_STATE_BYTES = 64 * 1024


def load_ui_state(path: Path) -> dict[str, Any]:
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        text = read_text(path, max_bytes=MAX_UI_STATE_BYTES, kind="the UI state file")
        value = json.loads(text)
    except FileRefused as refused:
        log.warning("ignoring the UI state file %s: %s", path, refused.message)
        return {}
    except (ValueError, RecursionError) as exc:  # not JSON, or nested beyond recursion
        log.warning("ignoring the UI state file %s: %s", path, exc)
        return {}
    return value if isinstance(value, dict) else {}


def remembered_theme(path: Path) -> str | None:
    theme = load_ui_state(path).get("theme")
    return theme if isinstance(theme, str) and theme else None


def remember_theme(path: Path, theme: str) -> None:
    """Write the choice (atomically: a crash leaves the old file or the new one)."""
    state = load_ui_state(path)
    state["theme"] = theme
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(scratch, path)
