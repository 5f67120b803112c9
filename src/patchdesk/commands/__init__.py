"""The subcommands of the ``patchdesk`` CLI, one module per group."""
