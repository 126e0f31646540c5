"""Jobs: try-ons that run in the background, with progress, cancellation and expiry.

- ``model``: a job's spec, state, events and result, and what its work raises;
- ``store``: the ``JobStore`` protocol every store keeps, and ``StoreSettings``;
- ``memory``, ``sqlite``, ``redis``: the stores (this process; one machine; a cluster);
- ``select``: the store a setting names (``open_job_store``);
- ``queue``: ``JobQueue``, the worker threads that run the jobs of a store.

The Redis store is not imported here: it needs the ``scale`` extra.
"""

from tryon.service.jobs.memory import InMemoryJobStore
from tryon.service.jobs.model import (
    TERMINAL,
    Claim,
    JobCancelledError,
    JobEvent,
    JobKind,
    JobResult,
    JobSpec,
    JobState,
    JobStatus,
    Progress,
    WorkerLostError,
    tune_spec,
)
from tryon.service.jobs.queue import RETRY_PAUSE_S, Execute, JobQueue
from tryon.service.jobs.select import STORE_HELP, open_job_store
from tryon.service.jobs.store import (
    WORKER_LOST,
    JobStore,
    StoreSettings,
    lease_lost_reason,
    worker_lost_message,
)

__all__ = [
    "RETRY_PAUSE_S",
    "STORE_HELP",
    "TERMINAL",
    "WORKER_LOST",
    "Claim",
    "Execute",
    "InMemoryJobStore",
    "JobCancelledError",
    "JobEvent",
    "JobKind",
    "JobQueue",
    "JobResult",
    "JobSpec",
    "JobState",
    "JobStatus",
    "JobStore",
    "Progress",
    "StoreSettings",
    "WorkerLostError",
    "lease_lost_reason",
    "open_job_store",
    "tune_spec",
    "worker_lost_message",
]
