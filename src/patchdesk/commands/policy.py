"""``patchdesk policy``: client policy files in, policy documents out."""

from __future__ import annotations

import click


@click.group()
def policy() -> None:
    """Client policy files: validate, apply, export."""
