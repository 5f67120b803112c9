"""Simulated jobs: decided when created, reported as the clock reaches their times.

A job's status in each of its states is the same whenever asked (the times and results are
fixed when it is created), so each is built once and handed out again (``JobStatus`` is
frozen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from patchdesk.connectors.base import JobState, JobStatus, PatchResult
from patchdesk.connectors.sim.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class Job:
    """Queued until ``started_at``, running until ``finished_at``, then its result.

    ``started_at`` None: refused at once (the device was offline), failed at ``finished_at``.
    ``finished_at`` None: it hangs, running forever.
    """

    job_id: str
    connector_id: str
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    results: tuple[PatchResult, ...]
    error_code: str | None = None
    message: str | None = None
    needs_reboot: bool = False
    # The status built for each state reached so far (see the module docstring).
    _statuses: dict[str, JobStatus] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def failed(self) -> bool:
        return self.error_code is not None or any(not r.succeeded for r in self.results)

    def status(self, now: datetime) -> JobStatus:
        if self.started_at is not None and now < self.started_at:
            state = "queued"
        elif self.finished_at is None or (self.started_at is not None and now < self.finished_at):
            state = "running"
        else:
            state = "done"
        status = self._statuses.get(state)
        if status is None:
            status = self._statuses[state] = self._build(state)
        return status

    def _build(self, state: str) -> JobStatus:
        if state == "queued":
            return JobStatus(self.job_id, JobState.QUEUED)
        if state == "running":
            return JobStatus(self.job_id, JobState.RUNNING, started_at=self.started_at)
        return JobStatus(
            self.job_id,
            JobState.FAILED if self.failed else JobState.SUCCEEDED,
            started_at=self.started_at,
            finished_at=self.finished_at,
            patches=self.results,
            error_code=self.error_code,
            message=self.message,
            needs_reboot=self.needs_reboot,
        )


def refused(
    job_id: str, connector_id: str, now: datetime, vendor_ids: tuple[str, ...], error: ErrorCode
) -> Job:
    """A job that never started: every patch fails with ``error``."""
    code, message = error
    results = tuple(PatchResult(vendor_id, False, code) for vendor_id in vendor_ids)
    return Job(job_id, connector_id, now, None, now, results, code, message)


def summary(results: tuple[PatchResult, ...], first_message: str | None) -> str:
    failed = [r for r in results if not r.succeeded]
    if not failed:
        return f"{len(results)} update(s) installed" if results else "nothing to install"
    return f"{len(failed)} of {len(results)} update(s) failed: {first_message}"
