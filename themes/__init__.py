"""patchdesk's Textual themes, one TOML file each (installed as ``patchdesk.themes``).

Each file holds a ``[theme]`` table with the fields of ``textual.theme.Theme`` (name, dark,
primary, secondary, accent, foreground, background, surface, panel, success, warning, error)
and an optional ``[theme.variables]`` table of extra CSS variables.
"""
