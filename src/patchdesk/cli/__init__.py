"""The command-line interface: ``patchdesk`` and its subcommands, one module each (the
group itself in ``root``)."""

from patchdesk.cli.root import main as main
