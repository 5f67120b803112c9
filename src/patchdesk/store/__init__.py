"""The store: the database's schema, its migrations, and every statement run against it.

``models`` is the schema (SQLAlchemy 2), ``migrations`` its history (Alembic; every command
brings a database up to date first), ``db`` opens a database and its transactions. The
other modules are named for one feature each: ``*_views`` read what a screen, a command or
a report shows; ``*_ops`` write, each change in one transaction with its event (the feed
screens follow) and, for what people and the engine do, its remediation-log record
(``remediation_log``, keyed by ``log_key``).

The store is the only owner of the schema: only it imports SQLAlchemy and ``store.models``;
the layers above call its functions and hold a ``db.Session`` (re-exported) as an opaque
handle. May import ``settings``, ``policy``, ``rules`` and the layers below them; never the
engine, the connectors, the reports or the UI.
"""
