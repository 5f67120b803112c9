"""Pure rules: the decisions of the patch workflow over plain values.

Maintenance windows and daylight saving (``calendar``), approval (``approval``,
``approval_rows``), deployment rings (``rings``), patch scope (``scope``), triage order
(``triage``), failure classification (``classify``), reboot times, presence, and the health
metrics (``metrics``). No I/O: no database, no files, no clock (``now`` is a parameter), no
UI; so the engine, the CLI, the screens and the reports reuse them, and the tests check them
exhaustively.

May import only the small helpers (``text``, ``ages``, ``timezones``, ...) and ``domain``;
never SQLAlchemy, the store or anything above.
"""
