"""Documents patchdesk produces for people outside the terminal: the post-patch cycle report,
the exception log export and the shift handover, in Markdown, HTML, CSV and JSON.

Builders turn store views into plain report models; renderers turn a model into text, each
escaping untrusted text for its format (``escape``). Nothing here reads a clock: the caller
passes ``now``, so the same data gives the same bytes.
"""
