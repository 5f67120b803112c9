"""Textual screens of the NOC terminal (widgets beside them in ``widgets``).

Screens reach the database, the operator's identity and the clock through
``patchdesk.screens.services``; they never do I/O on the UI thread (workers do).
"""
