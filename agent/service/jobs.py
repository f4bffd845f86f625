"""What the service keeps about investigations, and the ports any job store implements.

The SQLite :class:`~agent.service.queue.InvestigationQueue` is the embedded implementation; a
scaled-out one (Celery for delivery, PostgreSQL for state and deduplication) implements the same
Protocols. Each consumer asks for the narrow port it uses: the HTTP intake an :class:`AlarmIntake`
and :class:`JobReader`, workers a :class:`WorkQueue`, the Slack bot :class:`PeopleFeedback`.

Semantics every implementation keeps:

- ``enqueue`` is durable before it returns and deduplicates in the same transaction: by delivery
  (``AlarmEvent.message_id``) and by alarm identity (``AlarmEvent.identity``: source, account,
  region, name and labels) within a window. A resolution that arrives before its alarm is held
  and attached when the alarm comes.
- ``claim`` hands out a job under a lease with a fresh token. ``renew``, ``complete`` and ``fail``
  take that lease and do nothing once it was lost (expired and claimed by another worker), so a
  slow worker never overwrites the result of the one that took over.
- The execution log says who did what to a job: each graph node that completed (its LangGraph
  task id, unique per execution) and each stored result, with the worker (host:pid) that did it.
  A result entry is written in the same transaction as the result, so there is one per result.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from agent.service.payloads import AlarmEvent


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class EnqueueOutcome(StrEnum):
    CREATED = "created"  # a new investigation
    DUPLICATE = "duplicate"  # the same delivery again
    ATTACHED = "attached"  # the same alarm again within the window, or its resolution
    HELD = "held"  # a resolution before its alarm: attached when the alarm arrives
    IGNORED = "ignored"  # neither firing nor resolved (INSUFFICIENT_DATA): recorded only


@dataclass(frozen=True)
class Job:
    id: str
    alarm_name: str
    service: str | None
    status: JobStatus
    attempts: int
    event: AlarmEvent
    updates: list[AlarmEvent]
    resolved_at: str | None
    result: dict[str, Any] | None
    error: str | None
    lease: str | None = None  # the token of the current claim (set on the job ``claim`` returns)
    lease_until: float | None = None
    claimed_at: float | None = None


@dataclass(frozen=True)
class Verdict:
    hypothesis: str  # "service/fault_type": survives re-ranking
    accepted: bool
    user: str
    at: float


@dataclass(frozen=True)
class LogEntry:
    kind: str  # "node": a graph node completed; "result": complete() stored the result
    name: str  # the node's name, or "result"
    task: str  # the node's LangGraph task id, or the lease the result was stored under
    worker: str  # host:pid of the process that recorded it
    at: float


class AlarmIntake(Protocol):
    def enqueue(self, event: AlarmEvent) -> tuple[EnqueueOutcome, str | None]:
        """Durably record one notification; return what happened and the job it concerns."""
        ...


class JobReader(Protocol):
    def get(self, job_id: str) -> Job | None: ...

    def jobs(self, status: JobStatus | None = None) -> list[Job]: ...

    def counts(self) -> dict[str, int]: ...


class WorkQueue(Protocol):
    lease_seconds: float

    def claim(self) -> Job | None:
        """The next runnable job (queued and due, or running with an expired lease), leased."""
        ...

    def renew(self, job: Job) -> bool:
        """Extend the lease of a claimed job; False when the lease was lost."""
        ...

    def complete(self, job: Job, result: dict[str, Any]) -> bool: ...

    def fail(self, job: Job, error: str) -> JobStatus | None:
        """Retry later with backoff, or dead-letter; None when the lease was lost."""
        ...


class DeadLetters(Protocol):
    def dead_letters(self) -> list[Job]: ...

    def redrive(self, job_id: str | None = None) -> int: ...


class PeopleFeedback(Protocol):
    def record_feedback(self, job_id: str, user_id: str, vote: int) -> bool:
        """Store a thumbs up/down; False (nothing stored) for an unknown job."""
        ...

    def satisfaction(self) -> tuple[int, int]: ...

    def record_verdict(self, job_id: str, hypothesis: str, accepted: bool, user_id: str) -> bool:
        """Store a person's accept/reject of one hypothesis; False for an unknown job."""
        ...

    def verdicts(self, job_id: str) -> list[Verdict]:
        """The latest verdict per hypothesis, oldest first."""
        ...

    def update_result(self, job_id: str, result: dict[str, Any]) -> None: ...


class ExecutionLog(Protocol):
    def record_node(self, job_id: str, node: str, task: str) -> None:
        """Note that a graph node of this job completed (called by the worker running it)."""
        ...

    def execution_log(self, job_id: str | None = None) -> list[LogEntry]:
        """What was recorded (for one job, or all), oldest first."""
        ...


class JobStore(AlarmIntake, JobReader, WorkQueue, DeadLetters, PeopleFeedback, ExecutionLog, Protocol):
    """Everything ``sleuth serve`` needs from its store."""

    def release(self, job: Job) -> bool:
        """Hand a claimed job back, due now, without spending an attempt (a draining worker)."""
        ...

    def close(self) -> None:
        """Release this process's connections (the stored jobs stay)."""
        ...
