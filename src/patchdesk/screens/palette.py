"""``ctrl+p``: the command palette offers the ``:`` commands and "go to" every client and
every device by name. Names come from the database (read off the UI thread when the
palette opens) and are shown literally: a hostname is never read as markup.

The one read that is not a screen's worker (``screens.worker_results``): a palette provider
is not a widget, and the palette awaits its ``startup``, so it reads in
``asyncio.to_thread``."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Protocol, cast

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from patchdesk.screens.command_grammar import BY_NAME, Command
from patchdesk.screens.services import services_of
from patchdesk.store.name_views import Names, read_names
from patchdesk.text import printable


class Commanded(Protocol):
    """What the palette asks of the app (``PatchdeskApp`` provides it)."""

    def run_command(self, command: Command) -> None: ...
    def command_names(self) -> list[str]: ...


MAX_NAME_HITS = 30  # per kind: a palette of 50,000 hostnames helps nobody


class PatchdeskCommands(Provider):
    async def startup(self) -> None:
        database = services_of(self.app).database

        def read() -> Names:
            with database.session() as session:
                return read_names(session)

        self.names = await asyncio.to_thread(read)

    @property
    def _app(self) -> Commanded:
        return cast(Commanded, self.app)

    def _run(self, command: Command) -> None:
        self._app.run_command(command)

    def _plain_commands(self) -> list[tuple[str, str]]:
        """(name, summary) of the commands that take no argument and can run here."""
        return [
            (name, BY_NAME[name].summary)
            for name in self._app.command_names()
            if BY_NAME[name].argument is None
        ]

    async def discover(self) -> Hits:
        for name, summary in self._plain_commands():
            yield DiscoveryHit(f":{name}", partial(self._run, Command(name)), help=summary)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, summary in self._plain_commands():
            score = matcher.match(f":{name} {summary}")
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(f":{name}"),
                    partial(self._run, Command(name)),
                    help=summary,
                )
        for theme in sorted(self.app.available_themes):
            score = matcher.match(f"theme {theme}")
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(f":theme {theme}"),
                    partial(self._run, Command("theme", theme)),
                    help="Switch theme",
                )
        names = getattr(self, "names", None)
        if names is None:
            return
        hits = 0
        for client_id in names.clients:
            label = f"client {client_id} {names.client_names.get(client_id, '')}"
            score = matcher.match(label)
            if score > 0 and hits < MAX_NAME_HITS:
                hits += 1
                yield Hit(
                    score,
                    Text(
                        printable(
                            f"go to client {client_id}  {names.client_names.get(client_id, '')}"
                        )
                    ),
                    partial(self._run, Command("client", client_id)),
                    text=printable(label),
                    help="Client: policy, windows, figures",
                )
        # Substring first (cheap over 50,000 names), fuzzy scoring only for those.
        term = _term(query)
        if len(term) < 2:
            return
        hits = 0
        for host in names.hosts:
            if term not in host.casefold():
                continue
            hits += 1
            if hits > MAX_NAME_HITS:
                break
            score = max(matcher.match(f"device {host}"), 0.1)
            yield Hit(
                score,
                Text(printable(f"go to device {host}")),
                partial(self._run, Command("device", host)),
                text=printable(f"device {host}"),
                help="Device: facts, history",
            )


def _term(query: str) -> str:
    """What is typed after any leading "go to" / "device" words, case-folded."""
    words = query.casefold().split()
    while words and words[0] in ("go", "to", "device", ":device"):
        words.pop(0)
    return " ".join(words)
