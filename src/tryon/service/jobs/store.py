"""``JobStore``: where jobs, their events and results live, and the promises every store
keeps.

The rest of the service uses this interface; ``tryon.service.jobs.memory`` keeps jobs in
this process's memory (shoppers' photos never touch the disk), ``tryon.service.jobs.sqlite``
in a file shared by the processes of one machine, ``tryon.service.jobs.redis`` in Redis
shared by a cluster.

A job is never lost and never stuck: ``take`` hands a job out under a lease (an
``attempt`` number and a deadline) that the worker renews while it runs; a job whose
lease runs out (its worker or machine died) is queued again at the front, up to
``max_attempts`` times, then failed with a ``WorkerLostError`` that says why. Every
write a worker makes carries its attempt, so a worker that lost its lease cannot
overwrite the job's newer attempt. A client key (``Idempotency-Key``) makes submission
idempotent: the same key returns the same job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tryon.service.jobs.model import Claim, JobEvent, JobResult, JobSpec, JobState


@dataclass(frozen=True)
class StoreSettings:
    """What every job store shares.

    Attributes:
        ttl_s: seconds a finished job (its result included) is kept.
        lease_s: seconds a worker may go silent (no progress, no renewal) before its
            job is taken back and queued again.
        max_attempts: runs a job gets; after that many lost workers it fails.
    """

    ttl_s: float = 600.0
    lease_s: float = 30.0
    max_attempts: int = 2

    def __post_init__(self) -> None:
        if self.ttl_s <= 0 or self.lease_s <= 0:
            raise ValueError("ttl_s and lease_s must be positive")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")


WORKER_LOST = "WorkerLostError"
"""The error type of a job that lost its worker ``max_attempts`` times."""


def worker_lost_message(reason: str, attempts: int) -> str:
    """The error of a job that lost its worker ``attempts`` times."""
    runs = "once" if attempts == 1 else f"{attempts} times"
    return f"{reason}; the job was run {runs} and given up: submit it again"


def lease_lost_reason(lease_s: float) -> str:
    """Why a job whose lease ran out was taken back."""
    return f"the worker running the job stopped answering (no heartbeat for {lease_s:g} s)"


class JobStore(Protocol):
    """Where jobs, their events and results live.

    Methods may raise ``StoreUnavailableError`` (``tryon.service.api_errors``: 503) when
    a shared store cannot be reached.
    """

    settings: StoreSettings

    def create(self, spec: JobSpec, key: str | None = None) -> JobState:
        """Queues a new job; its first event is ``queued``.

        With a ``key`` already used, returns that job instead (while it is kept).

        Raises:
            IdempotencyConflictError: the key was used for a different spec (409).
        """
        ...

    def find_key(self, key: str) -> JobState | None:
        """The job created with this idempotency key, or None."""
        ...

    def get(self, job_id: str) -> JobState | None:
        """The job's state, or None when unknown or expired."""
        ...

    def take(self, timeout: float) -> Claim | None:
        """Moves the oldest queued job to running under a new lease and hands it out
        (None after timeout). The spec is kept until the job ends, for a retry."""
        ...

    def renew(self, claim: Claim) -> bool:
        """Extends the claim's lease; False when the job is no longer this attempt's
        (cancelled, deleted, or taken back): the worker should stop."""
        ...

    def progress(self, claim: Claim, step: int, total: int) -> bool:
        """Records progress and renews the lease; False as ``renew``."""
        ...

    def finish(self, claim: Claim, result: JobResult) -> None:
        """Marks a running job done with its result (ignored unless the claim is current)."""
        ...

    def fail(self, claim: Claim, type: str, message: str) -> None:
        """Marks a running job failed (ignored unless the claim is current)."""
        ...

    def retry(self, claim: Claim, reason: str) -> JobState | None:
        """Gives a job back because its worker could not finish it (a replica died):
        queued again at the front, or failed with ``WorkerLostError`` once it had
        ``max_attempts`` runs. Ignored (None) unless the claim is current."""
        ...

    def reclaim(self) -> int:
        """Does ``retry`` for every running job whose lease ran out; returns how many."""
        ...

    def cancel(self, job_id: str) -> JobState | None:
        """Cancels a queued or running job; returns the new state (None: unknown)."""
        ...

    def delete(self, job_id: str) -> bool:
        """Forgets a job and its result; False when unknown."""
        ...

    def result(self, job_id: str) -> JobResult | None:
        """A done job's result, or None."""
        ...

    def events(self, job_id: str, since: int) -> list[JobEvent] | None:
        """Events with ``seq >= since``; None when the job is unknown or expired."""
        ...

    def counts(self) -> dict[str, int]:
        """How many jobs are queued and running."""
        ...

    def purge(self, now: float) -> int:
        """Forgets jobs that ended more than the time-to-live ago; returns how many."""
        ...

    def close(self) -> None:
        """Wakes threads blocked in ``take`` so they can stop; releases connections."""
        ...
