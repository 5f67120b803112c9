"""``patchdesk inventory``: devices from CSV."""

from __future__ import annotations

import click


@click.group()
def inventory() -> None:
    """The device inventory."""
