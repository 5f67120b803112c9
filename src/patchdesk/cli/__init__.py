"""The command-line interface: ``patchdesk`` and its subcommands, one module each (the
group itself in ``root``).

A subcommand parses its options, calls the layers below, prints (``--json``: one document)
and sets the exit status: 0 success, 1 a runtime failure, 2 bad input (one line per
problem). The top layer: it may import anything in the package, and nothing imports it.
"""

from patchdesk.cli.root import main as main
