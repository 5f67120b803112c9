"""The simulator's parts; the connector itself is ``patchdesk.engine.connectors.simulator``."""
