"""Fault injection: the step dies between two of its writes, and is simply run again.

For every step of a night, the step is killed at its 1st write statement (INSERT/UPDATE/
DELETE), run again (as a restarted process would, at the same instant) and killed at its 2nd
write, and so on, until it completes without reaching the kill point. So every step is cut
at every position: inside a transaction (which rolls back), between transactions, before and
after connector calls. Afterwards: no device was installed twice for one attempt, no target
was lost, no exception is duplicated, and the outcome is the uninterrupted one.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select

from patchdesk.domain import FailureClass, Role, TargetState
from patchdesk.store.models import PatchException, Target
from tests.engine.test_lifecycle import World, add_devices, world  # noqa: F401

WRITES = ("INSERT", "UPDATE", "DELETE")


class Crash(Exception):
    """The process dies here."""


class Injector:
    def __init__(self, w: World) -> None:
        self.kill_at = 0  # 0: never
        self.writes = 0
        self.crashes = 0
        event.listen(w.db.engine, "before_cursor_execute", self._maybe_crash)

    def _maybe_crash(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(WRITES):
            return
        self.writes += 1
        if self.writes == self.kill_at:
            self.crashes += 1
            raise Crash(f"killed at write {self.writes}")

    def run(self, w: World, minutes: int) -> None:
        for _ in range(minutes):
            self.kill_at = 1
            while True:
                self.writes = 0
                try:
                    w.engine.step(w.now)
                except Crash:
                    self.kill_at += 1  # the next process dies one write later
                    continue
                break
            w.now += timedelta(minutes=1)


def build(w: World) -> None:
    add_devices(w, ("FRONT01", Role.SHARED_WORKSTATION), ("FRONT02", Role.SHARED_WORKSTATION))
    add_devices(w, ("LAB01", Role.SHARED_WORKSTATION), install="fail")
    add_devices(w, ("KIOSK01", Role.SHARED_WORKSTATION), reboot="lost")
    add_devices(w, ("SRV01", Role.SERVER), ("SRV02", Role.SERVER))
    add_devices(w, ("LT01", Role.SINGLE_USER), defers=1)


def outcome(w: World) -> tuple[dict[str, str], list[tuple[int, str]], Counter[str]]:
    with w.db.session() as session:
        states = {
            str(t.device_id): t.state.value
            for t in session.scalars(select(Target).order_by(Target.id))
        }
        exceptions = [
            (e.device_id, e.failure_class.value)
            for e in session.scalars(select(PatchException).order_by(PatchException.id))
        ]
    return states, exceptions, Counter(w.fleet.install_count)


def test_killed_steps_install_nothing_twice_and_lose_nothing(world: World) -> None:  # noqa: F811
    build(world)
    injector = Injector(world)
    injector.run(world, 120)
    assert injector.crashes > 200
    states, exceptions, installs = outcome(world)
    # the uninterrupted outcome (see test_lifecycle): every path reached its end
    assert sorted(states.values()) == sorted(
        ["verified"] * 5 + [TargetState.INSTALL_FAILED.value, TargetState.NO_CHECKIN.value]
    )
    assert sorted(c for _, c in exceptions) == sorted(
        [FailureClass.INSTALL.value, FailureClass.OFFLINE.value]
    )
    assert len(exceptions) == len(set(exceptions))
    # one install per attempt: the failing device retried once, every other device once
    assert installs["cid-LAB01"] == 2
    assert all(count == 1 for cid, count in installs.items() if cid != "cid-LAB01")
    with world.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Target)) == 7
