"""The simulator's parts; the connector itself is ``patchdesk.connectors.simulator``."""
